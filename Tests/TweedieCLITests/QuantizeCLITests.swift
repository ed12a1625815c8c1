import Foundation
import XCTest
import TweedieTestSupport
import Tweedie

/// `tweedie quantize`: the folder it writes runs in generate, info and bench; bad input is one line, exit 2, and
/// leaves nothing behind.
final class QuantizeCLITests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")

    func testQuantizedFolderRunsInGenerateInfoAndBench() throws {
        let dir = try GenerateTesting.tempDir(self)
        let q = try GenerateCLI.run(["quantize", "-m", model, "--out", "q", "--json"], in: dir)
        XCTAssertEqual(q.status, 0, q.stderr)
        XCTAssertTrue(q.stdout.contains("\"quantized_layers\""), q.stdout)
        XCTAssertEqual(GenerateTesting.files(dir), ["q"], "only the finished folder, no temporary one")
        XCTAssertEqual(GenerateTesting.files(dir.appendingPathComponent("q")),
                       ["config.json", "diffusion_pytorch_model.safetensors", "scheduler_config.json"])

        let info = try GenerateCLI.run(["info", "q"], in: dir)
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("quantization: int8 weight-only"), info.stdout)
        XCTAssertTrue(info.stdout.contains("I8 x"), info.stdout)

        let args = ["--seed", "3", "-b", "2", "--steps", "4", "--quiet"]
        let f32 = try GenerateCLI.run(["generate", "-m", model, "-o", "f.png", "--save-tensor", "f.safetensors"] + args,
                                      in: dir)
        let i8 = try GenerateCLI.run(["generate", "-m", "q", "-o", "i.png", "--save-tensor", "i.safetensors"] + args,
                                     in: dir)
        XCTAssertEqual(f32.status, 0, f32.stderr)
        XCTAssertEqual(i8.status, 0, i8.stderr)
        let a = try GenerateTesting.tensor(dir.appendingPathComponent("i.safetensors").path)
        let b = try GenerateTesting.tensor(dir.appendingPathComponent("f.safetensors").path)
        // Measured 1.5e-2 relative on this random-weight U-Net (4 euler_a steps, CFG 3, int8 in every layer).
        assertMeasured(relativeError(a, b), tolerance: 1e-1, "generate int8 vs Float32")

        let bench = try GenerateCLI.run(["bench", "--model", "q", "--batch", "1", "--iters", "1", "--warmup", "0",
                                         "--json"], in: dir)
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertTrue(bench.stdout.contains("\"median_ms\""), bench.stdout)
    }

    /// One line on stderr naming `mentions`, exit 2, and the directory as it was.
    private func assertRejected(_ args: [String], in dir: URL, mentions: [String], file: StaticString = #filePath,
                                line: UInt = #line) throws {
        let before = GenerateTesting.files(dir)
        let r = try GenerateCLI.run(args, in: dir)
        XCTAssertEqual(r.status, 2, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "'\(m)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertEqual(GenerateTesting.files(dir), before, "nothing written", file: file, line: line)
    }

    func testBadInputIsOneLineAndWritesNothing() throws {
        let dir = try GenerateTesting.tempDir(self)
        try assertRejected(["quantize", "-m", model, "--out", "q", "--keep-float", "conv_in,no_such_block"], in: dir,
                           mentions: ["--keep-float", "no_such_block"])
        try assertRejected(["quantize", "-m", "missing", "--out", "q"], in: dir, mentions: ["missing"])
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("taken"), withIntermediateDirectories: false)
        try assertRejected(["quantize", "-m", model, "--out", "taken"], in: dir, mentions: ["--out", "taken", "exists"])

        // A quantized folder that lost a scale tensor: every command that loads it names the tensor.
        XCTAssertEqual(try GenerateCLI.run(["quantize", "-m", model, "--out", "q"], in: dir).status, 0)
        try assertRejected(["quantize", "-m", "q", "--out", "qq"], in: dir, mentions: ["already quantized"])
        let weights = dir.appendingPathComponent("q/diffusion_pytorch_model.safetensors").path
        let file = try SafeTensorsFile(path: weights)
        var floats: [(String, Tensor)] = [], int8: [(String, [Int8], [Int])] = []
        for name in file.names where name != "conv_out.weight_scale" {
            let info = file.info(name)!
            if info.dtype == "I8" { int8.append((name, try file.int8s(name, shape: info.shape), info.shape)) }
            else { floats.append((name, try file.tensor(name))) }
        }
        try SafeTensorsWriter.write(floats, int8: int8, to: weights)
        for cmd in [["info", "q"], ["generate", "-m", "q", "--quiet", "-o", "x.png"],
                    ["bench", "--model", "q", "--iters", "1", "--warmup", "0"]] {
            try assertRejected(cmd, in: dir, mentions: ["conv_out.weight_scale", "q/diffusion_pytorch_model.safetensors"])
        }
    }
}
