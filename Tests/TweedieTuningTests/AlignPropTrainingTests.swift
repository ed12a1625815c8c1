import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieTuning

/// Short deterministic fine-tunes of the tiny model: the reward rises, and a run stopped and resumed ends with
/// the same adapter, optimiser state and log as an uninterrupted one.
final class AlignPropTrainingTests: XCTestCase {
    private func settings(steps: Int) -> AlignPropSettings {
        var s = AlignPropSettings()
        s.reward = "colorfulness"
        s.steps = steps
        s.samplingSteps = 4
        s.batch = 2
        s.accumulate = 2
        s.truncation = .last(2)
        s.learningRate = 1e-2
        s.loraTargets = .all
        s.loraRank = 2  // conv_in reads 3 channels
        s.checkpointEvery = 2
        s.seed = 3
        return s
    }

    private func trainer(_ s: AlignPropSettings, out: String, resume: Bool = false) throws -> AlignPropTrainer {
        try AlignPropTrainer(model: try TinyModel.unet(), className: "UNet2DModel", scheduler: TinyModel.scheduler(clip: true),
                             reward: ColorfulnessReward(), settings: s, nullClass: TinyModel.nullClass,
                             classOf: TinyModel.classOf, outDirectory: out, resume: resume)
    }

    /// Mean colorfulness of 8 fixed trajectories (not the training ones) under parameters `p`.
    private func heldOutReward(_ t: AlignPropTrainer, _ p: TuningParameters) throws -> Float {
        let tape = Tape()
        let images = try t.objective.sample(tape, names: p.names, factors: p.values.map { tape.constant($0) },
                                            first: 1000, count: 8, gradientSteps: nil)
        return try ColorfulnessReward().reward(tape.constant(images.value)).value.data[0]
    }

    func testAShortFineTuneRaisesTheReward() throws {
        let out = try scratchDirectory("alignprop-raise")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let t = try trainer(settings(steps: 12), out: out)
        let before = try heldOutReward(t, t.loop.state.parameters)
        try t.run()
        let after = try heldOutReward(t, t.loop.state.parameters)
        // Measured 0.719 -> 0.778 on the held-out trajectories.
        XCTAssertGreaterThan(after, before + 0.03, "held-out colorfulness \(before) -> \(after)")
        let rows = TuningLog.read((out as NSString).appendingPathComponent("log.csv"))
        XCTAssertEqual(rows.map { $0["step"] }, (1...12).map { Double($0) })
        XCTAssert(rows.allSatisfy { ($0["reward"] ?? .nan).isFinite && ($0["peak_rss_mb"] ?? 0) > 0 })
        // The adapter on disk is the run's, in diffusers' layout, and fits the model it was trained on.
        let adapter = try LoRAAdapterFile.read((out as NSString).appendingPathComponent("lora.safetensors"))
        XCTAssertEqual(adapter, t.adapter())
        XCTAssertEqual(adapter.info["reward"], "colorfulness")
        try adapter.check(against: try TinyModel.unet().weights, className: "UNet2DModel", source: "lora")
    }

    func testResumedRunEndsBitIdenticalToAnUninterruptedOne() throws {
        let whole = try scratchDirectory("alignprop-whole"), split = try scratchDirectory("alignprop-split")
        defer { for d in [whole, split] { try? FileManager.default.removeItem(atPath: d) } }
        let s = settings(steps: 4)
        let a = try trainer(s, out: whole)
        try a.run()
        var stops = 0
        let b1 = try trainer(s, out: split)
        // Stopped after update 3 (not a checkpoint step): the loop checkpoints it before returning.
        XCTAssertTrue(try b1.run(shouldStop: { stops += 1; return stops == 4 }))
        XCTAssertEqual(b1.loop.state.step, 3)
        let b2 = try trainer(s, out: split, resume: true)
        XCTAssertEqual(b2.loop.state.step, 3)
        XCTAssertFalse(try b2.run())
        XCTAssertEqual(a.loop.state.parameters, b2.loop.state.parameters)
        XCTAssertEqual(a.loop.optimizer.state.map(\.value), b2.loop.optimizer.state.map(\.value))
        let logA = TuningLog.read((whole as NSString).appendingPathComponent("log.csv"))
        let logB = TuningLog.read((split as NSString).appendingPathComponent("log.csv"))
        XCTAssertEqual(logA.map { [$0["step"], $0["loss"], $0["reward"], $0["grad_norm"]] },
                       logB.map { [$0["step"], $0["loss"], $0["reward"], $0["grad_norm"]] })
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: (whole as NSString).appendingPathComponent("lora.safetensors"))),
                       try Data(contentsOf: URL(fileURLWithPath: (split as NSString).appendingPathComponent("lora.safetensors"))))
        XCTAssertEqual(try AlignPropTrainer.settings(inCheckpoint: TuningCheckpoint.newest(in: split + "/checkpoints")!), s)
    }

    func testBadSettingsFailBeforeAnythingIsWritten() throws {
        let out = try scratchDirectory("alignprop-bad")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var s = settings(steps: 2)
        s.loraRank = 3
        s.loraTargets = .all  // conv_in reads 3 channels, its time embedding 8
        XCTAssertNoThrow(try trainer(s, out: out))
        s.loraRank = 17
        s.loraTargets = .attention  // the attention projections are 16 x 16
        XCTAssertThrowsError(try trainer(s, out: out)) { error in
            guard let e = error as? TweedieError, e.exitCode == 2 else { return XCTFail("\(error)") }
            let m = e.message
            XCTAssert(m.contains("--lora-rank 17") && m.contains("at most 16"), m)
        }
        s = settings(steps: 2)
        s.truncation = .last(5)
        XCTAssertThrowsError(try trainer(s, out: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }
}
