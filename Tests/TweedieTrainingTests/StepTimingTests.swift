import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieTraining

/// Per-step phase times of the trainer and `tweedie train --json`, which bench/train reads.
final class StepTimingTests: XCTestCase {
    /// A run records one timing per step, each phase measured (the tiny net still takes microseconds per phase).
    func testRunRecordsOneTimingPerStep() throws {
        let out = try makeScratchDirectory("timing")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let trainer = try Trainer(recipe: TinyRun.recipe(), dataset: TinyRun.dataset(), outDirectory: out, resume: false)
        trainer.log = { _ in }
        try trainer.run(stopAfter: 3)
        XCTAssertEqual(trainer.stepTimings.count, 3)
        XCTAssertEqual(trainer.stepTimings.last, trainer.lastStepTiming)
        for t in trainer.stepTimings {
            XCTAssertGreaterThan(t.data, 0)
            XCTAssertGreaterThan(t.forward, 0)
            XCTAssertGreaterThan(t.backward, 0)
            XCTAssertGreaterThan(t.optimizer, 0)
            XCTAssertGreaterThan(t.cpu, 0)
            XCTAssertLessThan(t.total, 10, "seconds, not nanoseconds")
            XCTAssertEqual(t.compute, t.total - t.data, accuracy: 1e-12)
        }
        // A second session on the same trainer reports only its own steps.
        try trainer.run(stopAfter: 1)
        XCTAssertEqual(trainer.stepTimings.count, 1)
    }

    /// The report's medians, rate and lists come from the timings given, in milliseconds.
    func testReportJSON() throws {
        let timings = [StepTiming(data: 0.001, forward: 0.010, backward: 0.020, optimizer: 0.002, cpu: 0.030),
                       StepTiming(data: 0.003, forward: 0.030, backward: 0.060, optimizer: 0.004, cpu: 0.090),
                       StepTiming(data: 0.002, forward: 0.020, backward: 0.040, optimizer: 0.003, cpu: 0.070)]
        let text = StepTimingReport(timings: timings, batch: 8, fields: [("step", .int(12))]).json
        XCTAssertFalse(text.contains("\n"))
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(o["median_ms"] as? Double ?? 0, 65, accuracy: 1e-9)
        XCTAssertEqual(o["compute_median_ms"] as? Double ?? 0, 63, accuracy: 1e-9)
        XCTAssertEqual(o["cpu_median_ms"] as? Double ?? 0, 70, accuracy: 1e-9)
        XCTAssertEqual(o["cpu_ms"] as? [Double] ?? [], [30, 90, 70].map(Double.init))
        XCTAssertEqual(o["samples_per_s"] as? Double ?? 0, 8 / 0.065, accuracy: 0.01)
        XCTAssertEqual(o["steps_timed"] as? Int, 3)
        XCTAssertEqual(o["step"] as? Int, 12)
        XCTAssertEqual(o["times_ms"] as? [Double] ?? [], [33, 97, 65].map(Double.init))
        let phases = try XCTUnwrap(o["phase_median_ms"] as? [String: Double])
        XCTAssertEqual(phases, ["data": 2, "forward": 20, "backward": 40, "optimizer": 3])
        let lists = try XCTUnwrap(o["phase_ms"] as? [String: [Double]])
        XCTAssertEqual(lists["backward"], [20, 60, 40])
        XCTAssertEqual(StepTimingReport.median([4, 1, 3, 2]), 2.5)
    }

    /// `tweedie train --json` keeps stdout for one JSON object (progress goes to stderr) with a time per step.
    func testTrainJSONFlag() throws {
        let out = try makeScratchDirectory("train-json")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let config = (out as NSString).appendingPathComponent("config.json")
        try """
            {"_class_name": "UNet2DModel", "sample_size": 64, "in_channels": 1, "out_channels": 1,
             "block_out_channels": [4, 8], "layers_per_block": 1, "norm_num_groups": 4,
             "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"]}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try ClassifierCLITests.tweedie([
            "train", "--data", "phantom64", "--model-config", config, "--batch", "2", "--steps", "100",
            "--stop-after", "3", "--sample-every", "0", "--log-every", "1", "--threads", "1", "--json",
            "--out", (out as NSString).appendingPathComponent("run")])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("step 3/100"), run.stderr)
        let lines = run.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, run.stdout)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual((o["times_ms"] as? [Double])?.count, 3)
        XCTAssertEqual(o["step"] as? Int, 3)
        XCTAssertEqual(o["batch"] as? Int, 2)
        XCTAssertEqual(o["threads"] as? Int, 1)
        XCTAssertEqual(o["gradient_checkpointing"] as? Bool, false)
        XCTAssertGreaterThan(o["median_ms"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(o["peak_rss_mb"] as? Double ?? 0, 1)
    }
}
