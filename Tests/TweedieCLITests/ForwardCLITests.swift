import Foundation
import XCTest
import TweedieTestSupport
import Tweedie

/// The parity hook and model inspection through the built `tweedie` binary, including bad input.
final class ForwardCLITests: XCTestCase {
    private var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("TweedieModelsTests/Fixtures")
    }

    private func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-fwd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    private func assertMatches(_ out: String, expected: Tensor, tolerance: Float, file: StaticString = #filePath,
                               line: UInt = #line) throws {
        let got = try SafeTensorsFile(path: out).tensor("sample")
        XCTAssertEqual(got.shape, expected.shape, file: file, line: line)
        assertMeasured(relativeError(got, expected), tolerance: tolerance, "tweedie forward", file: file, line: line)
    }

    func testForwardMatchesDiffusersForEveryNetworkFixture() throws {
        let dir = try tempDir()
        for name in ["unet_a", "unet_b", "unet_c_legacy", "unet_d", "dit_a", "dit_b_transformer2d"] {
            let folder = fixtures.appendingPathComponent(name).path
            let io = folder + "/io.safetensors", out = dir.appendingPathComponent("\(name).safetensors").path
            let r = try TweedieBinary.run(["forward", "--model", folder, "--input", io, "--output", out])
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            // Measured at most 2.0e-6 (dit_a) (worst of 5 OpenBLAS kernels), as ModelParityTests.
            try assertMatches(out, expected: try SafeTensorsFile(path: io).tensor("expected"), tolerance: 1e-5)
        }
    }

    func testForwardI64ScalarTimestepBroadcasts() throws {
        let dir = try tempDir()
        let folder = fixtures.appendingPathComponent("unet_a").path
        let io = try SafeTensorsFile(path: folder + "/io.safetensors")
        let sample = try io.tensor("sample")
        let input = dir.appendingPathComponent("in.safetensors").path
        try SafeTensorsWriter.write([("sample", sample)], int64: [("timestep", [250], [])], to: input)
        let out = dir.appendingPathComponent("out.safetensors").path
        let r = try TweedieBinary.run(["forward", "--model", folder, "--input", input, "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let model = try ModelFolder.load(folder).diffusionModel!
        let expected = try model.forward(sample, timesteps: [250, 250], classLabels: nil)
        // Measured 0 (bit-identical: the same kernels in both processes) (worst of 5 OpenBLAS kernels).
        try assertMatches(out, expected: expected, tolerance: 1e-7)
    }

    func testVAEDecodeAndEncode() throws {
        let dir = try tempDir()
        let folder = fixtures.appendingPathComponent("vae").path
        let io = try SafeTensorsFile(path: folder + "/io.safetensors")
        for (mode, inName, refName) in [("--decode", "latent", "expected_decoded"),
                                        ("--encode", "image", "expected_latent_mean")] {
            let input = dir.appendingPathComponent("\(inName).safetensors").path
            try SafeTensorsWriter.write([("sample", try io.tensor(inName))], to: input)
            let out = dir.appendingPathComponent("\(inName)-out.safetensors").path
            let r = try TweedieBinary.run(["forward", "--model", folder, "--input", input, "--output", out, mode])
            XCTAssertEqual(r.status, 0, r.stderr)
            // Measured at most 1.4e-6 (decode) (worst of 5 OpenBLAS kernels).
            try assertMatches(out, expected: try io.tensor(refName), tolerance: 7e-6)
        }
    }

    func testInfoDescribesModel() throws {
        let r = try TweedieBinary.run(["info", fixtures.appendingPathComponent("dit_a").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("type: DiTTransformer2DModel"), r.stdout)
        XCTAssertTrue(r.stdout.contains("parameters: "), r.stdout)
        let s = try TweedieBinary.run(["info", "--system"])
        XCTAssertTrue(s.stdout.contains("openblas core: "), s.stdout)
    }

    func testInfoPrintsStoredParametersOfAGeneratedPNG() throws {
        let dir = try tempDir()
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/unet_cond")
        let png = dir.appendingPathComponent("x.png").path
        let g = try TweedieBinary.run(["generate", "-m", model.path, "--class", "1", "--steps", "3", "--seed", "11",
                                       "-o", png, "--quiet"])
        XCTAssertEqual(g.status, 0, g.stderr)
        let r = try TweedieBinary.run(["info", png])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Seed: 11"), r.stdout)
        XCTAssertTrue(r.stdout.contains("steps: 3"), r.stdout)
        let bad = try TweedieBinary.run(["info", dir.appendingPathComponent("missing.png").path])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("missing.png"), bad.stderr)
    }

    /// Copies a fixture folder so a test can damage it.
    private func copyFixture(_ name: String, to dir: URL) throws -> URL {
        let dst = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent(name), to: dst)
        return dst
    }

    /// Runs forward and expects exit 2, one stderr line naming `mentions`, and no output file.
    private func assertBadInput(_ args: [String], out: String, mentions: [String],
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try TweedieBinary.run(args)
        XCTAssertEqual(r.status, 2, "stderr: \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line, got: \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "'\(m)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "output written", file: file, line: line)
    }

    func testBadInputsExitTwoNamingTheCulprit() throws {
        let dir = try tempDir()
        let model = try copyFixture("unet_a", to: dir)
        let weights = model.appendingPathComponent("diffusion_pytorch_model.safetensors").path
        let io = fixtures.appendingPathComponent("unet_a/io.safetensors").path
        let out = dir.appendingPathComponent("out.safetensors").path
        let fwd = ["forward", "--model", model.path, "--input", io, "--output", out]

        // Truncated weights file.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
        try assertBadInput(fwd, out: out, mentions: [weights])

        // Header length larger than the file.
        var header = bytes
        header.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Data($0) })
        try header.write(to: URL(fileURLWithPath: weights))
        try assertBadInput(fwd, out: out, mentions: [weights, "header"])

        // Unknown dtype: rewrite F32 to a made-up type of the same width.
        let text = String(decoding: bytes, as: UTF8.self)
        let range = text.range(of: "\"F32\"")!
        let offset = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
        var unknown = bytes
        unknown.replaceSubrange(offset..<(offset + 5), with: Data("\"Q32\"".utf8))
        try unknown.write(to: URL(fileURLWithPath: weights))
        try assertBadInput(fwd, out: out, mentions: [weights, "Q32"])
        try bytes.write(to: URL(fileURLWithPath: weights))

        // A shape that does not match the config.
        let config = model.appendingPathComponent("config.json")
        let original = try String(contentsOf: config, encoding: .utf8)
        try original.replacingOccurrences(of: "\"norm_num_groups\": 8", with: "\"norm_num_groups\": 4")
            .replacingOccurrences(of: "\"block_out_channels\": [\n    16,", with: "\"block_out_channels\": [\n    24,")
            .write(to: config, atomically: true, encoding: .utf8)
        try assertBadInput(fwd, out: out, mentions: [weights])

        // A missing required config key.
        try original.replacingOccurrences(of: "\"sample_size\"", with: "\"sample_size_gone\"")
            .write(to: config, atomically: true, encoding: .utf8)
        try assertBadInput(fwd, out: out, mentions: [config.path, "sample_size"])
        try original.write(to: config, atomically: true, encoding: .utf8)

        // Missing files: the input and the model folder.
        try assertBadInput(["forward", "--model", model.path, "--input", dir.path + "/nope.safetensors",
                            "--output", out], out: out, mentions: ["nope.safetensors"])
        try assertBadInput(["forward", "--model", dir.path + "/no-model", "--input", io, "--output", out],
                           out: out, mentions: ["no-model"])
        // Bad flag value.
        try assertBadInput(fwd + ["--threads", "0"], out: out, mentions: ["--threads"])
    }
}

/// Runs the `tweedie` executable built beside the test bundle.
enum TweedieBinary {
    struct Result { let status: Int32; let stdout: String; let stderr: String }

    static var url: URL { TestEnvironment.cliBinary }

    static func run(_ arguments: [String]) throws -> Result {
        let p = Process()
        p.executableURL = url
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }
}
