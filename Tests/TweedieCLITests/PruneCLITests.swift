import Foundation
import XCTest
import TweedieTestSupport
import Tweedie

/// `tweedie prune`: the folder it writes runs in generate, info and bench; Ctrl-C checkpoints and `--resume`
/// finishes; bad input is one line, exit 2, and writes nothing.
final class PruneCLITests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")
    /// A learning run small enough for a test: 2 pairs, 2 Euler steps, one trajectory per update.
    private let tiny = ["--calibration", "2", "--batch", "1", "--accumulate", "1", "--sampling-steps", "2",
                        "--checkpoint-every", "1"]

    func testPrunedFolderRunsInGenerateInfoAndBench() throws {
        let dir = try GenerateTesting.tempDir(self)
        let p = try GenerateCLI.run(["prune", "-m", model, "--ratio", "0.3", "--out", "p", "--steps", "2", "--json"]
                                    + tiny, in: dir)
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(p.stderr.contains("step 2/2"), p.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as! [String: Any]
        let share = try XCTUnwrap(summary["removed_share"] as? Double)
        XCTAssertGreaterThan(share, 0.2, p.stdout)
        XCTAssertLessThan(share, 0.4, p.stdout)
        XCTAssertEqual(GenerateTesting.files(dir.appendingPathComponent("p")),
                       ["MODEL_CARD.md", "config.json", "diffusion_pytorch_model.safetensors", "pruning",
                        "scheduler_config.json"])
        let info = try GenerateCLI.run(["info", "p"], in: dir)
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("tweedie_layer_widths"), info.stdout)
        XCTAssertTrue(info.stdout.contains("parameters: \(summary["parameters_after"]!)"), info.stdout)
        let gen = try GenerateCLI.run(["generate", "-m", "p", "--seed", "3", "-b", "2", "--steps", "3", "--quiet",
                                       "-o", "g_%d.png"], in: dir)
        XCTAssertEqual(gen.status, 0, gen.stderr)
        let bench = try GenerateCLI.run(["bench", "--model", "p", "--batch", "1", "--iters", "1", "--warmup", "0",
                                         "--json"], in: dir)
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertTrue(bench.stdout.contains("\"median_ms\""), bench.stdout)

        // The learned masks again at another ratio, without training.
        let again = try GenerateCLI.run(["prune", "-m", model, "--ratio", "0.1", "--out", "p10", "--gates-from", "p",
                                         "--json", "--quiet"], in: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("\"ratio\":0.1"), again.stdout)
    }

    func testSIGINTCheckpointsAndResumeFinishes() throws {
        let dir = try GenerateTesting.tempDir(self)
        let run = try GenerateCLI(["prune", "-m", model, "--out", "p", "--steps", "1000"] + tiny, in: dir)
        let deadline = Date().addingTimeInterval(60)
        while !run.stderrSoFar.contains("step 2/1000") && Date() < deadline { usleep(5_000) }
        run.interrupt()
        let r = run.finish()
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertTrue(r.stderr.contains("continue with --resume"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("p/config.json").path),
                       "nothing exported before the run ends")
        let resumed = try GenerateCLI.run(["prune", "--out", "p", "--resume", "--steps", "1000", "--stop-after", "1",
                                           "--quiet"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let stored = try XCTUnwrap(TuningCheckpoint.newest(in: dir.appendingPathComponent("p/pruning/checkpoints").path))
        XCTAssertEqual(try TuningCheckpoint.metadata(stored)["step"].flatMap { Int($0) },
                       Int(r.stderr.components(separatedBy: "interrupted at update ").last!.prefix { $0.isNumber })! + 1)
    }

    /// bench/prune's judge features: `classify --features` on PNGs and on the colourised test split.
    func testClassifyWritesJudgeFeatures() throws {
        let dir = try GenerateTesting.tempDir(self)
        let judge = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("assets/classifier32/shape").path
        let real = try GenerateCLI.run(["classify", "--model", judge, "--test-images", "6", "--features", "t.safetensors",
                                        "--json"], in: dir)
        XCTAssertEqual(real.status, 0, real.stderr)
        XCTAssertTrue(real.stdout.contains("\"path\":\"fashion-test:5\""), real.stdout)
        let t = try GenerateTesting.tensor(dir.appendingPathComponent("t.safetensors").path, "features")
        XCTAssertEqual(t.shape, [6, 192])
        // The judge reads 32x32 images: samples of the bundled fashion32, two steps.
        let fashion = URL(fileURLWithPath: judge).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fashion32").path
        XCTAssertEqual(try GenerateCLI.run(["generate", "-m", fashion, "-b", "2", "--steps", "2", "--quiet",
                                            "-o", "g_%d.png"], in: dir).status, 0)
        let gen = try GenerateCLI.run(["classify", "--model", judge, "g_0.png", "g_1.png", "--features", "g.safetensors"],
                                      in: dir)
        XCTAssertEqual(gen.status, 0, gen.stderr)
        XCTAssertEqual(try GenerateTesting.tensor(dir.appendingPathComponent("g.safetensors").path, "features").shape,
                       [2, 192])
        let both = try GenerateCLI.run(["classify", "--model", judge, "g_0.png", "--test-images", "2"], in: dir)
        XCTAssertEqual(both.status, 2, both.stderr)
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
        for r in ["0", "1", "1.5", "-0.1", "nan"] {
            try assertRejected(["prune", "-m", model, "--ratio", r, "--out", "p"], in: dir, mentions: ["--ratio"])
        }
        let judge = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("assets/classifier32/shape").path
        try assertRejected(["prune", "-m", judge, "--out", "p"], in: dir, mentions: ["TweedieClassifier", "no prunable units"])
        try assertRejected(["prune", "-m", model, "--out", "p", "--method", "l1"], in: dir, mentions: ["--method", "l1"])
        try assertRejected(["prune", "--out", "p"], in: dir, mentions: ["-m"])

        XCTAssertEqual(try GenerateCLI.run(["prune", "-m", model, "--out", "p", "--steps", "3", "--stop-after", "1",
                                            "--quiet"] + tiny, in: dir).status, 0)
        let run = dir.appendingPathComponent("p")
        let before = GenerateTesting.files(run)
        try assertRejected(["prune", "--out", "p", "--resume", "--lr", "0.5"], in: dir, mentions: ["--lr 0.1", "--lr 0.5"])
        try assertRejected(["prune", "--out", "p", "--resume", "--ratio", "0.3"], in: dir, mentions: ["--ratio 0.2"])
        try assertRejected(["prune", "-m", model, "--out", "p"] + tiny, in: dir, mentions: ["--resume", "p"])
        XCTAssertEqual(GenerateTesting.files(run), before)
    }
}
