import Foundation
import XCTest
import Tweedie
import TweedieTestSupport

/// `tweedie finetune`, `score`, `soup` and LoRA files on the command line, on the tiny class-conditional fixture
/// (16x16, about 20 ms an update): the run's files, SIGINT and resume ending bit-identical to an uninterrupted
/// run, and bad input as one line with exit 2 and nothing written.
final class FinetuneCLITests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")
    private static let steps = 30

    /// The flags of a small run into `out`.
    private func finetune(_ out: String, steps: Int = FinetuneCLITests.steps) -> [String] {
        ["finetune", "-m", model, "--reward", "colorfulness", "--steps", "\(steps)", "--batch", "2", "--accumulate", "2",
         "--sampling-steps", "4", "--truncation", "last:2", "--lr", "1e-2", "--checkpoint-every", "7", "--seed", "4",
         "--out", out, "--threads", "1", "--progress", "plain"]
    }

    func testRunWritesItsFilesAndTheLoRADescribesItself() throws {
        let dir = try GenerateTesting.tempDir(self)
        let out = dir.appendingPathComponent("run").path
        let r = try GenerateCLI.run(finetune(out, steps: 4) + ["--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(GenerateTesting.files(URL(fileURLWithPath: out)), ["checkpoints", "log.csv", "lora.safetensors",
                                                                           "settings.json"])
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(summary["steps"] as? Int, 4)
        XCTAssertNotNil(summary["reward_last"] as? Double)
        XCTAssert(r.stderr.contains("step 4/4") && r.stderr.contains("reward") && r.stderr.contains("peak RSS"), r.stderr)
        let info = try GenerateCLI.run(["info", out + "/lora.safetensors"])
        XCTAssertEqual(info.status, 0, info.stderr)
        for line in ["type: LoRA adapter", "model class: UNet2DModel", "rank: 4; alpha: 4", "layers: 16",
                     "reward: colorfulness", "base model: unet_cond"] {
            XCTAssert(info.stdout.contains(line), "'\(line)' not in \(info.stdout)")
        }
        // An existing run is not overwritten without --resume.
        let again = try GenerateCLI.run(finetune(out, steps: 4))
        XCTAssertEqual(again.status, 2, again.stderr)
        XCTAssert(again.stderr.contains("--resume"), again.stderr)
    }

    func testInterruptedAndResumedRunEqualsAnUninterruptedOne() throws {
        let dir = try GenerateTesting.tempDir(self)
        let straight = dir.appendingPathComponent("straight").path, split = dir.appendingPathComponent("split").path
        let whole = try GenerateCLI.run(finetune(straight))
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let run = try GenerateCLI(finetune(split))
        let deadline = Date().addingTimeInterval(60)
        while !run.stderrSoFar.contains("step 2/\(Self.steps) ") && Date() < deadline { usleep(1_000) }
        run.interrupt()
        let first = run.finish()
        XCTAssertEqual(first.status, 130, first.stderr)
        let stopped = try XCTUnwrap(first.stderr.range(of: #"interrupted at update \d+"#, options: .regularExpression)
            .flatMap { Int(first.stderr[$0].split(separator: " ").last ?? "") }, first.stderr)
        XCTAssert((2..<Self.steps).contains(stopped), first.stderr)
        XCTAssert(FileManager.default.fileExists(atPath: split + String(format: "/checkpoints/step-%08d.safetensors", stopped)))
        let rest = try GenerateCLI.run(["finetune", "--out", split, "--resume", "--threads", "1", "--progress", "none"])
        XCTAssertEqual(rest.status, 0, rest.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: straight + "/lora.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: split + "/lora.safetensors")))
        func column(_ path: String, _ key: String) -> [Double?] { TuningLog.read(path + "/log.csv").map { $0[key] } }
        XCTAssertEqual(column(straight, "reward"), column(split, "reward"))
        XCTAssertEqual(column(split, "step").count, Self.steps)
    }

    /// Bad input: one line naming the flag or file, exit 2, and no output folder or file.
    private func assertRejected(_ args: [String], mentions: [String], file: StaticString = #filePath,
                                line: UInt = #line) throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try GenerateCLI.run(args, in: dir)
        XCTAssertEqual(r.status, 2, r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr, file: file, line: line)
        for m in mentions { XCTAssert(r.stderr.contains(m), "'\(m)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertEqual(GenerateTesting.files(dir), [], "files written", file: file, line: line)
    }

    func testBadInputIsOneLineAndWritesNothing() throws {
        let base = finetune("out", steps: 2)
        try assertRejected(base + ["--reward", "beauty"], mentions: ["--reward beauty", "colorfulness", "classifier:N"])
        try assertRejected(base + ["--lora-rank", "40"], mentions: ["--lora-rank 40", "at most 16"])
        try assertRejected(base + ["--truncation", "last:9"], mentions: ["--truncation last:9", "4 sampling steps"])
        try assertRejected(base + ["--truncation", "first:2"], mentions: ["--truncation first:2"])
        // classifier:N reads 32x32 images; the fixture makes 16x16 ones.
        try assertRejected(base + ["--reward", "classifier:3"], mentions: ["classifier:3", "[3, 32, 32]", "[3, 16, 16]"])
        try assertRejected(base + ["--class", "3"], mentions: ["--class 3"])
    }

    func testLoRAFilesForOtherModelsAndNegativeScalesAreRefused() throws {
        let dir = try GenerateTesting.tempDir(self)
        let out = dir.appendingPathComponent("run").path
        XCTAssertEqual(try GenerateCLI.run(finetune(out, steps: 1)).status, 0)
        let lora = out + "/lora.safetensors"
        let input = GenerateCLI.fixture("unet_cond") + "/latents.safetensors"
        let dit = GenerateCLI.fixture("dit_pipe") + "/transformer"
        try assertRejected(["forward", "--model", dit, "--input", input, "--output", "o.safetensors", "--lora", lora],
                           mentions: ["--lora \(lora)", "a LoRA for UNet2DModel, the model is DiTTransformer2DModel"])
        try assertRejected(["forward", "--model", model, "--input", input, "--output", "o.safetensors",
                            "--lora", lora + ":-0.5"], mentions: ["--lora", "scale must be a finite number >= 0"])
        try assertRejected(["forward", "--model", model, "--input", input, "--output", "o.safetensors",
                            "--lora", model + "/diffusion_pytorch_model.safetensors"],
                           mentions: ["is not a LoRA factor"])
    }

    func testSoupAndScore() throws {
        let dir = try GenerateTesting.tempDir(self)
        let out = dir.appendingPathComponent("run").path
        XCTAssertEqual(try GenerateCLI.run(finetune(out, steps: 2)).status, 0)
        let mixed = dir.appendingPathComponent("half.safetensors").path
        let soup = try GenerateCLI.run(["soup", out + "/lora.safetensors", "--alpha", "0.5", "-o", mixed])
        XCTAssertEqual(soup.status, 0, soup.stderr)
        let a = try LoRAAdapterFile.read(out + "/lora.safetensors"), h = try LoRAAdapterFile.read(mixed)
        XCTAssertEqual(h.layers[0].b.data.map { $0 * 2 }, a.layers[0].b.data)
        let gen = try GenerateCLI.run(["generate", "-m", model, "-b", "3", "--steps", "4", "--seed", "1", "--quiet",
                                       "-o", dir.appendingPathComponent("img_%d.png").path])
        XCTAssertEqual(gen.status, 0, gen.stderr)
        let score = try GenerateCLI.run(["score", "--reward", "colorfulness", "--json",
                                         dir.appendingPathComponent("img_0.png").path, dir.appendingPathComponent("img_1.png").path])
        XCTAssertEqual(score.status, 0, score.stderr)
        let o = try JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as! [String: Any]
        XCTAssertEqual((o["images"] as? [Any])?.count, 2)
        XCTAssert(((o["mean"] as? Double) ?? -1) >= 0)
    }
}
