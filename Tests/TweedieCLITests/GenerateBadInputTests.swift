import Foundation
import XCTest
import Tweedie

/// Bad input to `tweedie generate`: one line on stderr naming the flag or file, exit code 2, no file written.
final class GenerateBadInputTests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")

    /// Runs generate in a fresh directory and checks the failure contract.
    private func assertRejected(_ args: [String], mentions: [String], file: StaticString = #filePath,
                                line: UInt = #line) throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try GenerateCLI.run(["generate", "--quiet", "-o", "out.png", "--save-tensor", "out.safetensors"] + args,
                                    in: dir)
        XCTAssertEqual(r.status, 2, "stderr: \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "expected one line, got: \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "'\(m)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertEqual(GenerateTesting.files(dir), [], "files written", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
    }

    /// The binary knows the built-in samplers; this test process may also hold samplers other tests registered.
    private let builtInSamplers = ["ddim", "ddpm", "dpm2", "dpmpp_2m", "dpmpp_2m_sde", "euler", "euler_a", "heun"]

    func testUnknownSamplerListsTheValidNames() throws {
        try assertRejected(["-m", model, "--sampler", "plms"], mentions: ["--sampler", "plms"] + builtInSamplers)
    }

    func testUnknownScheduleListsTheValidNames() throws {
        try assertRejected(["-m", model, "--schedule", "cosine"],
                           mentions: ["--schedule", "cosine"] + GenerationSettings.scheduleNames)
    }

    func testNonPositiveSteps() throws {
        try assertRejected(["-m", model, "--steps", "0"], mentions: ["--steps"])
        try assertRejected(["-m", model, "--steps=-3"], mentions: ["--steps"])
    }

    func testNaNOrNegativeCFGScale() throws {
        try assertRejected(["-m", model, "--cfg-scale", "nan"], mentions: ["--cfg-scale"])
        try assertRejected(["-m", model, "--cfg-scale=-1"], mentions: ["--cfg-scale"])
    }

    func testClassOutOfRange() throws {
        // unet_cond has classes 0...2; 3 is its null class.
        try assertRejected(["-m", model, "--class", "3"], mentions: ["--class", "3", "0...2"])
        try assertRejected(["-m", model, "--class", "17"], mentions: ["--class", "17"])
        try assertRejected(["-m", model, "--label", "Delta"], mentions: ["--label", "Delta", "Alpha"])
        try assertRejected(["-m", GenerateCLI.fixture("unet_ddim"), "--class", "0"], mentions: ["--class", "unconditional"])
    }

    func testLatentsOfTheWrongShape() throws {
        // The DiT's latents are [2, 4, 8, 8]; the U-Net needs [N, 3, 16, 16].
        let wrong = GenerateCLI.fixture("dit_pipe") + "/latents.safetensors"
        try assertRejected(["-m", model, "--latents", wrong], mentions: ["--latents", wrong, "[2, 4, 8, 8]"])
    }

    func testUnwritableOutputPath() throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try GenerateCLI.run(["generate", "--quiet", "-m", model, "--steps", "2",
                                     "-o", "/nonexistent-tweedie-dir/out.png"], in: dir)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("-o /nonexistent-tweedie-dir/out.png"), r.stderr)
        XCTAssertEqual(GenerateTesting.files(dir), [])
        // A path whose parent is a regular file, and an unsupported printf directive.
        try Data([1]).write(to: dir.appendingPathComponent("plain"))
        let s = try GenerateCLI.run(["generate", "--quiet", "-m", model, "--steps", "2", "-o", "plain/x.png"], in: dir)
        XCTAssertEqual(s.status, 2, s.stderr)
        XCTAssertEqual(GenerateTesting.files(dir), ["plain"])
        try assertRejected(["-m", model, "-o", "img_%s.png"], mentions: ["-o", "%d"])
    }

    func testOtherBadFlags() throws {
        try assertRejected(["-m", model, "--guidance", "pag"], mentions: ["--guidance", "cfg", "apg"])
        try assertRejected(["-m", GenerateCLI.fixture("unet_ddim"), "--guidance", "cfg"], mentions: ["--guidance", "null class"])
        try assertRejected(["-m", model, "--guidance-interval", "0.8,0.2"], mentions: ["--guidance-interval"])
        try assertRejected(["-m", model, "--rng", "mt"], mentions: ["--rng", "philox", "torch"])
        try assertRejected(["-m", model, "--precision", "fp8"], mentions: ["--precision", "f32", "bf16"])
        try assertRejected(["-m", model, "--sigmas", "3,x,1"], mentions: ["--sigmas", "x"])
        try assertRejected(["-m", model, "--sigmas", "1,2,3"], mentions: ["sigmas", "descending"])
        try assertRejected(["-m", model, "--eta", "0.5", "--sampler", "heun"], mentions: ["--eta", "heun"])
        try assertRejected(["-m", "/nonexistent-model"], mentions: ["/nonexistent-model"])
        try assertRejected(["-m", model, "-b", "0"], mentions: ["--batch-count"])
    }

    /// Without -m the bundled assets/fashion32 is found from the executable's location, whatever the directory.
    func testDefaultModelIsTheBundledOne() throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try GenerateCLI.run(["generate", "--quiet", "--steps", "2", "--seed", "3", "-o", "d.png"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(GenerateTesting.files(dir), ["d.png"])
        XCTAssertTrue(r.stdout.contains("T-shirt/top"), r.stdout)
    }
}
