import Foundation
import XCTest
import Tweedie

/// The goldens catch a small change to the model: one weight of fashion32 moved by a modest amount makes a golden
/// comparison fail, while the untouched model passes the same comparison.
final class WeightPerturbationTests: XCTestCase {
    /// The weight moved: element `index` of `tensor`, by `delta` (0.4 of that tensor's standard deviation, 0.12; 15% of
    /// its largest magnitude, 0.34). Measured on fashion32/euler-cfg: image max abs 12/255, PSNR 41.7 dB, tensor
    /// max abs 9.4e-2, so the 8-bit check alone fails; the same +0.05 on mid_block.resnets.0.conv1.weight[0] moves
    /// the samples by 2.1e-3 and the images by 1/255, which only the tensor check sees.
    static let tensor = "conv_in.weight"
    static let index = 0
    static let delta: Float = 0.05

    func testOnePerturbedWeightFailsTheGolden() throws {
        let golden = try XCTUnwrap(try GoldenManifest.cases().first {
            $0.entry.folder == "fashion32" && $0.sampler == "euler" && $0.guidance == "cfg"
        })
        let stored = try XCTUnwrap(try GoldenStore.read(golden), "\(golden.id): no stored golden")
        let clean = try GoldenDiff(try GoldenRun.produce(golden), against: stored)
        XCTAssertTrue(clean.passes, "unperturbed \(golden.id): \(clean.summary)")

        let original = try GoldenManifest.modelPath(golden.entry)
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("goldens-perturbed-\(getpid())")
        defer { try? FileManager.default.removeItem(at: copy) }
        try perturbedCopy(of: original, to: copy)
        let weights = ModelFolder.weightsFile
        let (a, b) = (try SafeTensorsFile(path: original + "/" + weights),
                      try SafeTensorsFile(path: copy.appendingPathComponent(weights).path))
        XCTAssertEqual(a.names, b.names)
        var changed = 0
        for name in a.names {
            changed += zip(try a.tensor(name).data, try b.tensor(name).data).filter { $0 != $1 }.count
        }
        XCTAssertEqual(changed, 1, "the copy differs from the model in exactly one weight")

        let perturbed = try GoldenDiff(try GoldenRun.produce(golden, pipeline: SamplingPipeline(path: copy.path)),
                                       against: stored)
        XCTAssertGreaterThan(perturbed.imageMaxAbs, GoldenDiff.imageTolerance, "the 8-bit comparison alone fails")
        XCTAssertFalse(perturbed.passes, "\(golden.id) with \(Self.tensor)[\(Self.index)] += \(Self.delta): "
                       + perturbed.summary)
        print("perturbed \(Self.tensor)[\(Self.index)] by \(Self.delta): \(golden.id) \(perturbed.summary); "
              + "unperturbed \(clean.summary)")
    }

    /// Copies the model folder's config files and rewrites its weights with the one element moved.
    private func perturbedCopy(of folder: String, to copy: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: copy, withIntermediateDirectories: true)
        for f in try fm.contentsOfDirectory(atPath: folder) where f.hasSuffix(".json") {
            try fm.copyItem(atPath: folder + "/" + f, toPath: copy.appendingPathComponent(f).path)
        }
        let file = try SafeTensorsFile(path: folder + "/" + ModelFolder.weightsFile)
        var tensors: [(String, Tensor)] = []
        for name in file.names {
            var t = try file.tensor(name)
            if name == Self.tensor { t.data[Self.index] += Self.delta }
            tensors.append((name, t))
        }
        XCTAssertTrue(file.names.contains(Self.tensor), "\(Self.tensor) is not a tensor of \(folder)")
        try SafeTensorsWriter.write(tensors, metadata: file.metadata,
                                    to: copy.appendingPathComponent(ModelFolder.weightsFile).path)
    }
}
