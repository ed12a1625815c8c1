import Foundation
import XCTest
import TweedieTestSupport
import Tweedie

/// The goldens are made through the CLI's own path: `tweedie generate` with a golden's arguments writes exactly the
/// image and samples the golden test produces, and those match the stored golden.
final class GoldenCLITests: XCTestCase {
    func testCLIReproducesAGolden() throws {
        // Bit identity across two processes holds only if both use the same GEMM kernel.
        guard TestEnvironment.assertCLIUsesSameKernel() else { return }
        let cases = try GoldenManifest.cases()
        let golden = try XCTUnwrap(cases.first { $0.sampler == "dpmpp_2m_sde" && $0.guidance == "cfg" } ?? cases.last)
        let i = golden.entry.imageCount - 1
        let stored = try XCTUnwrap(try GoldenStore.read(golden), "\(golden.id): no stored golden")
        let library = try GoldenRun.produce(golden)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("goldens-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("out.png").path
        let tensor = dir.appendingPathComponent("out.safetensors").path
        let process = Process()
        process.executableURL = TestEnvironment.cliBinary
        process.currentDirectoryURL = GoldenManifest.repositoryRoot
        process.arguments = golden.generateArguments(image: i)
            + ["-o", png, "--save-tensor", tensor, "--quiet", "--disable-image-metadata", "--threads", "\(Runtime.threads)"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "tweedie " + (process.arguments ?? []).joined(separator: " "))

        let cli = GoldenOutput(images: [try PNGImage.read(path: png).image],
                               samples: try SafeTensorsFile(path: tensor).tensor(LatentsFile.tensorName))
        let fromLibrary = try GoldenDiff(cli, against: image(i, of: library))
        XCTAssertTrue(fromLibrary.identical, "CLI vs ImageGenerator, \(golden.id) image \(i): \(fromLibrary.summary)")
        let fromGolden = try GoldenDiff(cli, against: image(i, of: stored))
        XCTAssertTrue(fromGolden.passes, "CLI vs stored \(golden.id) image \(i): \(fromGolden.summary)")
    }

    /// Image `i` of `output` and its samples [1, C, h, w].
    private func image(_ i: Int, of output: GoldenOutput) -> GoldenOutput {
        let per = output.samples.count / output.samples.shape[0]
        return GoldenOutput(images: [output.images[i]],
                            samples: Tensor(shape: [1] + output.samples.shape.dropFirst(),
                                            data: Array(output.samples.data[(i * per)..<((i + 1) * per)])))
    }
}
