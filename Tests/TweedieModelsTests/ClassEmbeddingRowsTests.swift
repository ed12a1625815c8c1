import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// Appended class rows (textual inversion's concept rows) on the diffusers fixtures: a copy of class c's rows under
/// the new id computes exactly what class c computes, on the U-Net's one table and the DiT's per-block tables.
final class ClassEmbeddingRowsTests: XCTestCase {
    func testAppendedCopyOfARowComputesLikeItsClass() throws {
        var tested = 0
        for name in ["unet_a", "unet_b", "dit_a"] {
            let io = try ParityFixtures.io(name)
            guard io.info("class_labels") != nil,
                  let model = try ModelFolder.load(try ParityFixtures.path(name)) as? ClassEmbeddingTables,
                  !model.classEmbeddingTables.isEmpty else { continue }
            tested += 1
            let x = try io.tensor("sample"), t = try io.tensor("timestep").data
            let n = x.shape[0]
            let before = model.classRowCount
            let reference = try model.forward(x, timesteps: t, classLabels: [Int](repeating: 1, count: n))
            XCTAssertThrowsError(try model.forward(x, timesteps: t, classLabels: [Int](repeating: before, count: n)),
                                 "\(name): id \(before) is past the table before a row is appended")
            let id = try model.appendClassRow(model.classRow(1))
            XCTAssertEqual(id, before)
            XCTAssertEqual(model.classRowCount, before + 1)
            let concept = try model.forward(x, timesteps: t, classLabels: [Int](repeating: id, count: n))
            XCTAssertEqual(concept.data, reference.data, "\(name): the copied row computes as class 1")
            model.setClassRow(id, model.classRow(0))
            XCTAssertEqual(model.classRow(id).map(\.data), model.classRow(0).map(\.data))
            XCTAssertThrowsError(try model.appendClassRow(model.classRow(0).map { Tensor(shape: [$0.count + 1]) }),
                                 "\(name): a row of another width")
        }
        XCTAssertGreaterThanOrEqual(tested, 2, "a class-conditional U-Net and DiT fixture")
    }
}
