import XCTest
import TweedieCore
import TweedieData
import TweedieTestSupport
import TweedieTraining

/// The phantom64 training stream: its augmentation geometry and how it interleaves ellipses and brain slices.
final class DataPhantomPriorTests: XCTestCase {
    /// A side x side image with a distinct value at every pixel.
    private func ramp(_ side: Int) -> [Float] { (0..<side * side).map { Float($0) / Float(side * side) } }

    private func augment(_ a: SliceAugmentation, _ image: [Float], side: Int) -> [Float] {
        var out = [Float](repeating: -1, count: side * side)
        image.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { a.apply(src.baseAddress!, side: side, into: $0.baseAddress!) }
        }
        return out
    }

    func testIdentityFlipAndQuarterTurnMovePixelsExactly() {
        let side = 8, image = ramp(side)
        XCTAssertEqual(augment(.identity, image, side: side), image)
        let flipped = augment(SliceAugmentation(flip: true, degrees: 0, scale: 1, shiftX: 0, shiftY: 0), image, side: side)
        for r in 0..<side { for c in 0..<side { XCTAssertEqual(flipped[r * side + c], image[r * side + side - 1 - c]) } }
        // A quarter turn (clockwise on screen): output (r, c) shows source row side-1-c, column r.
        let turned = augment(SliceAugmentation(flip: false, degrees: 90, scale: 1, shiftX: 0, shiftY: 0), image, side: side)
        for r in 0..<side {
            for c in 0..<side { XCTAssertEqual(turned[r * side + c], image[(side - 1 - c) * side + r], accuracy: 1e-5) }
        }
        // A whole-pixel shift moves content right and fills the vacated column with zeros.
        let shifted = augment(SliceAugmentation(flip: false, degrees: 0, scale: 1, shiftX: 2, shiftY: 0), image, side: side)
        for r in 0..<side {
            XCTAssertEqual(shifted[r * side], 0)
            XCTAssertEqual(shifted[r * side + 5], image[r * side + 3], accuracy: 1e-6)
        }
    }

    func testRandomDrawsStayInTheirRangesAndRepeat() {
        var flips = 0
        for k in 0..<200 {
            let a = SliceAugmentation.random(seed: 7, index: k)
            XCTAssertEqual(a, SliceAugmentation.random(seed: 7, index: k))
            XCTAssertLessThanOrEqual(abs(a.degrees), 10)
            XCTAssertLessThanOrEqual(abs(a.scale - 1), 0.08)
            XCTAssertLessThanOrEqual(max(abs(a.shiftX), abs(a.shiftY)), 3)
            if a.flip { flips += 1 }
        }
        XCTAssert((70...130).contains(flips), "flip rate \(flips)/200 far from one half")
    }

    func testEvenIndicesAreEllipsesAndOddIndicesAugmentedSlices() throws {
        let side = 16
        var slices = Tensor(shape: [3, 1, side, side], repeating: 0)
        slices.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = Float(i % 97) / 96 } }
        let data = try PhantomPriorDataset(count: 100, side: side, seed: 3, slices: slices)
        XCTAssertNil(data.classNames)
        XCTAssertEqual(data.sampleShape, [1, side, side])
        let (images, labels) = data.batch([4, 7, 4])
        XCTAssertNil(labels)
        XCTAssertEqual(images.shape, [3, 1, side, side])
        let plane = side * side
        let ellipse = RandomEllipses.images(count: 1, height: side, width: side, seed: 3, startIndex: 2)
        for j in 0..<plane {
            XCTAssertEqual(images.data[j], 2 * ellipse.data[j] - 1, accuracy: 1e-6)
            XCTAssertEqual(images.data[2 * plane + j], images.data[j])  // same index, same image
        }
        // Index 7 = 2*3 + 1: slice 3 mod 3 = 0 under augmentation draw 3.
        var expected = [Float](repeating: 0, count: plane)
        slices.withUnsafeBufferPointer { src in
            expected.withUnsafeMutableBufferPointer { dst in
                SliceAugmentation.random(seed: data.augmentationSeed, index: 3).apply(src.baseAddress!, side: side,
                                                                                      into: dst.baseAddress!)
            }
        }
        for j in 0..<plane { XCTAssertEqual(images.data[plane + j], 2 * min(max(expected[j], 0), 1) - 1, accuracy: 1e-6) }
        XCTAssert(images.data.allSatisfy { $0 >= -1 && $0 <= 1 })
    }

    func testWrongSlicesShapeIsBadInput() {
        XCTAssertThrowsError(try PhantomPriorDataset(count: 10, side: 16, seed: 0,
                                                     slices: Tensor(shape: [2, 1, 8, 8], repeating: 0))) { error in
            XCTAssert("\(error)".contains("slices must be"), "\(error)")
        }
    }

    func testPhantom64UsesOnlyTrainingSlicesOfColin27() throws {
        try TestEnvironment.requireFile(Colin27.defaultPath, package: Colin27.package)
        let data = try PhantomPriorDataset(count: 60_000)
        XCTAssertEqual(data.slices.shape, [Colin27.trainingSlices.count, 1, 64, 64])
        XCTAssertEqual(data.slices.data, try Colin27.slices(.training).data)
        let batch = data.batch([0, 1, 2, 3]).images
        XCTAssertEqual(batch.shape, [4, 1, 64, 64])
    }
}
