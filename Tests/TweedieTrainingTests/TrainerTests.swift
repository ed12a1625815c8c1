import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieSamplers
import TweedieTraining

/// A tiny class-conditional run: 3x8x8 images, two classes (+ null), two levels with attention at 4x4.
enum TinyRun {
    static let modelConfig = """
        {"_class_name": "UNet2DModel", "sample_size": 8, "in_channels": 3, "out_channels": 3,
         "block_out_channels": [8, 16], "layers_per_block": 1, "norm_num_groups": 4, "attention_head_dim": 8,
         "down_block_types": ["DownBlock2D", "AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
         "num_class_embeds": 3}
        """

    static func dataset() -> TensorDataset {
        let n = 6, per = 3 * 8 * 8
        let data = (0..<(n * per)).map { i in sinf(Float(i) * 0.37) * 0.8 }
        return TensorDataset(images: Tensor(shape: [n, 3, 8, 8], data: data), labels: [0, 1, 0, 1, 1, 0],
                             classNames: ["a", "b"])
    }

    static func recipe() -> TrainingRecipe {
        var r = TrainingRecipe()
        r.data = "tiny"
        r.modelConfigJSON = modelConfig
        r.steps = 10
        r.batch = 4
        r.learningRate = 1e-3
        r.warmupSteps = 2
        r.checkpointEvery = 100
        r.sampleEvery = 0
        r.logEvery = 1
        r.labelDropout = 0.3
        r.emaDecay = 0.9
        r.seed = 7
        return r
    }
}

final class TrainerTests: XCTestCase {
    /// Two steps, a checkpoint, a new process-like trainer resuming, two more steps: bit-identical to four steps.
    func testResumeContinuesBitIdentically() throws {
        let resumed = try makeScratchDirectory("resume"), straight = try makeScratchDirectory("straight")
        defer { for d in [resumed, straight] { try? FileManager.default.removeItem(atPath: d) } }
        let first = try Trainer(recipe: TinyRun.recipe(), dataset: TinyRun.dataset(), outDirectory: resumed, resume: true)
        first.log = { _ in }
        try first.run(stopAfter: 2)
        XCTAssertEqual(TrainingCheckpoint.list(resumed + "/checkpoints").count, 1)
        let second = try Trainer(recipe: TinyRun.recipe(), dataset: TinyRun.dataset(), outDirectory: resumed, resume: true)
        second.log = { _ in }
        XCTAssertEqual(second.state.step, 2)
        try second.run(stopAfter: 2)

        let direct = try Trainer(recipe: TinyRun.recipe(), dataset: TinyRun.dataset(), outDirectory: straight, resume: false)
        direct.log = { _ in }
        try direct.run(stopAfter: 4)
        XCTAssertEqual(second.state.step, 4)
        XCTAssertEqual(second.state.dataPosition, direct.state.dataPosition)
        for ((name, a), (_, b)) in zip(second.parameters, direct.parameters) { XCTAssertEqual(a, b, name) }
        for ((name, a), (_, b)) in zip(second.emaWeights, direct.emaWeights) { XCTAssertEqual(a, b, "ema \(name)") }
        // The weights moved, and the loss log holds one row per step without duplicates after the resume.
        let initial = try UNet2DModel.initialParameters(config: TinyRun.recipe().modelConfig(), seed: 7)
        XCTAssertNotEqual(initial[0].1, direct.parameters[0].1)
        XCTAssertEqual(LossLog.read(resumed + "/loss.csv").map(\.step), [1, 2, 3, 4])
        XCTAssertEqual(LossLog.read(resumed + "/loss.csv").map(\.loss), LossLog.read(straight + "/loss.csv").map(\.loss))
    }

    /// The exported folder loads as a UNet2DModel whose forward equals the tape forward on the EMA weights, with
    /// the DDPM scheduler config and class names beside it.
    func testExportedFolderLoadsAndMatches() throws {
        let out = try makeScratchDirectory("export")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let trainer = try Trainer(recipe: TinyRun.recipe(), dataset: TinyRun.dataset(), outDirectory: out, resume: false)
        trainer.log = { _ in }
        try trainer.run(stopAfter: 1)
        guard let model = try ModelFolder.load(out + "/model") as? UNet2DModel else { return XCTFail("not a UNet") }
        let x = Tensor(shape: [2, 3, 8, 8], data: (0..<384).map { cosf(Float($0)) })
        let tape = Tape()
        let params = Dictionary(uniqueKeysWithValues: trainer.emaWeights.map { ($0.0, tape.constant($0.1)) })
        let want = try trainer.network.forward(tape, parameters: params, sample: tape.constant(x), timesteps: [3, 500],
                                               classLabels: [0, 2]).value
        let got = try model.forward(x, timesteps: [3, 500], classLabels: [0, 2])
        // Measured 0 (bit-identical: the same kernels on both paths) (worst of 5 OpenBLAS kernels).
        assertMeasured(relativeError(got, want), tolerance: 1e-7, "exported UNet vs training network")
        let scheduler = try SchedulerConfig(path: out + "/model/scheduler_config.json")
        XCTAssertEqual(scheduler.className, "DDPMScheduler")
        XCTAssertEqual(scheduler.predictionType, .epsilon)
        let labels = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/model/labels.json")))
            as? [String: Any]
        XCTAssertEqual(labels?["labels"] as? [String], ["a", "b"])
        XCTAssertEqual(labels?["null_class"] as? Int, 2)
    }

    /// A run can start from an exported folder's weights (continuing a bundled model without its checkpoints).
    func testInitFromFolderStartsFromItsWeights() throws {
        let first = try makeScratchDirectory("init-a"), second = try makeScratchDirectory("init-b")
        defer { for d in [first, second] { try? FileManager.default.removeItem(atPath: d) } }
        let a = try Trainer(recipe: TinyRun.recipe(), dataset: TinyRun.dataset(), outDirectory: first, resume: false)
        a.log = { _ in }
        try a.run(stopAfter: 1)
        var r = TinyRun.recipe()
        r.initFrom = first + "/model"
        let b = try Trainer(recipe: r, dataset: TinyRun.dataset(), outDirectory: second, resume: false)
        XCTAssertEqual(b.state.step, 0)
        for ((name, w), (_, e)) in zip(b.parameters, a.emaWeights) { XCTAssertEqual(w, e, name) }
        r.initFrom = second + "/nothing"
        XCTAssertThrowsError(try Trainer(recipe: r, dataset: TinyRun.dataset(), outDirectory: second, resume: false))
    }

    /// A mismatched class table is refused with the flag named.
    func testClassTableMustCoverClassesPlusNull() throws {
        var r = TinyRun.recipe()
        r.modelConfigJSON = TinyRun.modelConfig.replacingOccurrences(of: "\"num_class_embeds\": 3", with: "\"num_class_embeds\": 2")
        XCTAssertThrowsError(try Trainer(recipe: r, dataset: TinyRun.dataset(), outDirectory: "/tmp/unused", resume: false)) {
            XCTAssertTrue(($0 as? TweedieError)?.message.contains("num_class_embeds") ?? false, "\($0)")
        }
    }

    func testDataOrderVisitsEverySampleOncePerEpochAndResumes() {
        var order = DataOrder(count: 7, seed: 3)
        let first = order.next(7), second = order.next(7)
        XCTAssertEqual(first.sorted(), Array(0..<7))
        XCTAssertEqual(second.sorted(), Array(0..<7))
        XCTAssertNotEqual(first, second, "each epoch has its own permutation")
        var resumed = DataOrder(count: 7, seed: 3, position: 5)
        var straight = DataOrder(count: 7, seed: 3)
        _ = straight.next(5)
        XCTAssertEqual(resumed.next(6), straight.next(6))
    }

    func testObjectiveTargetsAndLabelDropout() throws {
        var sched = SchedulerConfig()
        sched.predictionType = .vPrediction
        let objective = DiffusionObjective(scheduler: sched, prediction: .vPrediction, labelDropout: 0.5, nullClass: 9,
                                           seed: 1)
        let x0 = Tensor(shape: [64, 1, 2, 2], repeating: 0.5)
        let b = try objective.batch(images: x0, labels: Array(repeating: 1, count: 64), step: 3)
        let again = try objective.batch(images: x0, labels: Array(repeating: 1, count: 64), step: 3)
        XCTAssertEqual(b.noisy, again.noisy, "a step's draws are a pure function of (seed, step)")
        let dropped = b.labels!.filter { $0 == 9 }.count
        XCTAssertTrue((16...48).contains(dropped), "\(dropped) of 64 labels dropped at p = 0.5")
        // v = √ᾱ ε − √(1−ᾱ) x0 and x_t = √ᾱ x0 + √(1−ᾱ) ε imply x0 = √ᾱ x_t − √(1−ᾱ) v.
        let ac = NoiseSchedule.alphasCumprod(sched)
        for i in 0..<64 {
            let a = Float(ac[Int(b.timesteps[i])].squareRoot()), s = Float((1 - ac[Int(b.timesteps[i])]).squareRoot())
            XCTAssertEqual(a * b.noisy.data[4 * i] - s * b.target.data[4 * i], 0.5, accuracy: 1e-5)
        }
    }
}
