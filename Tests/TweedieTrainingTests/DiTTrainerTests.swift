import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieSamplers
import TweedieTraining
import Tweedie

/// A tiny class-conditional learned-sigma DiT run: 3x8x8 images, two classes (+ the null row), patch 2, two blocks.
enum TinyDiTRun {
    static let modelConfig = """
        {"_class_name": "DiTTransformer2DModel", "sample_size": 8, "in_channels": 3, "out_channels": 6,
         "patch_size": 2, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 2,
         "num_embeds_ada_norm": 2}
        """

    static func recipe() -> TrainingRecipe {
        var r = TinyRun.recipe()
        r.modelConfigJSON = modelConfig
        r.learningRate = 3e-3
        return r
    }
}

/// `Trainer` on a DiT: the loss falls, a resumed run equals an uninterrupted one, and the exported folder loads in
/// Tweedie (inference model and `tweedie generate`).
final class DiTTrainerTests: XCTestCase {
    /// Mean ε-MSE of `weights` over four fixed batches of all six images (draws independent of training's).
    private func heldLoss(_ trainer: Trainer, _ weights: [(String, Tensor)]) throws -> Float {
        let data = TinyRun.dataset()
        let objective = DiffusionObjective(scheduler: ModelExport.scheduler(prediction: .epsilon),
                                           prediction: .epsilon, labelDropout: 0, nullClass: 2, seed: 99)
        var total: Float = 0
        for k in 0..<4 {
            let b = try objective.batch(images: data.images, labels: data.labels, step: k)
            let tape = Tape()
            let params = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, tape.constant($0.1)) })
            let out = try trainer.network.forward(tape, parameters: params, sample: tape.constant(b.noisy),
                                                  timesteps: b.timesteps, classLabels: b.labels)
            let eps = tape.split(out, sizes: [3, 3], axis: 1)[0]
            total += tape.mseLoss(eps, tape.constant(b.target)).value.data[0]
        }
        return total / 4
    }

    func testLossDecreasesOnTinyData() throws {
        let out = try makeScratchDirectory("dit-loss")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var r = TinyDiTRun.recipe()
        r.steps = 40
        let trainer = try Trainer(recipe: r, dataset: TinyRun.dataset(), outDirectory: out, resume: false)
        trainer.log = { _ in }
        XCTAssertEqual(trainer.network.className, "DiTTransformer2DModel")
        let before = try heldLoss(trainer, trainer.parameters)
        XCTAssertEqual(before, 1, accuracy: 0.3, "adaLN-Zero start: zero output, loss = E[ε²]")
        try trainer.run()
        let after = try heldLoss(trainer, trainer.parameters)
        print("tiny DiT: held-out ε-MSE \(before) -> \(after) after \(trainer.state.step) steps")
        XCTAssertLessThan(after, 0.8 * before)
        // The variance bound reaches the variance channels: their output rows of proj_out_2 leave zero.
        let final = try XCTUnwrap(trainer.parameters.first { $0.0 == "proj_out_2.weight" }?.1)   // [p*p*6, 16]
        let rows = final.shape[0], width = final.shape[1]
        for row in 0..<rows where row % 6 >= 3 {
            XCTAssertGreaterThan(final.data[(row * width)..<((row + 1) * width)].map(abs).max()!, 0, "row \(row)")
        }
    }

    /// Two steps, a checkpoint, a new trainer resuming, two more: bit-identical to four straight steps.
    func testResumeContinuesBitIdentically() throws {
        let resumed = try makeScratchDirectory("dit-resume"), straight = try makeScratchDirectory("dit-straight")
        defer { for d in [resumed, straight] { try? FileManager.default.removeItem(atPath: d) } }
        let first = try Trainer(recipe: TinyDiTRun.recipe(), dataset: TinyRun.dataset(), outDirectory: resumed,
                                resume: true)
        first.log = { _ in }
        try first.run(stopAfter: 2)
        let second = try Trainer(recipe: TinyDiTRun.recipe(), dataset: TinyRun.dataset(), outDirectory: resumed,
                                 resume: true)
        second.log = { _ in }
        XCTAssertEqual(second.state.step, 2)
        try second.run(stopAfter: 2)
        let direct = try Trainer(recipe: TinyDiTRun.recipe(), dataset: TinyRun.dataset(), outDirectory: straight,
                                 resume: false)
        direct.log = { _ in }
        try direct.run(stopAfter: 4)
        XCTAssertEqual(second.state.step, 4)
        for ((name, a), (_, b)) in zip(second.parameters, direct.parameters) { XCTAssertEqual(a, b, name) }
        for ((name, a), (_, b)) in zip(second.emaWeights, direct.emaWeights) { XCTAssertEqual(a, b, "ema \(name)") }
        XCTAssertEqual(LossLog.read(resumed + "/loss.csv").map(\.loss), LossLog.read(straight + "/loss.csv").map(\.loss))
        // A U-Net recipe cannot resume a DiT run.
        var unet = TinyRun.recipe()
        unet.seed = TinyDiTRun.recipe().seed
        XCTAssertThrowsError(try Trainer(recipe: unet, dataset: TinyRun.dataset(), outDirectory: resumed, resume: true))
    }

    /// The exported folder is a DiTTransformer2DModel whose forward equals the tape forward on the EMA weights;
    /// `--init-from` reads it back; `tweedie generate` samples from it (pixel-space DiT, no VAE).
    func testExportedFolderLoadsInitsAndGenerates() throws {
        let (trainer, out) = try exportTinyRun(TinyDiTRun.recipe(), dataset: TinyRun.dataset(), tag: "dit-export")
        let next = try makeScratchDirectory("dit-init")
        defer { for d in [out, next] { try? FileManager.default.removeItem(atPath: d) } }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/samples/step-00000003.png"))
        guard let model = try ModelFolder.load(out + "/model") as? DiTTransformer2DModel else { return XCTFail("not a DiT") }
        XCTAssertEqual(model.outChannels, 6)
        let x = Tensor(shape: [2, 3, 8, 8], data: (0..<384).map { cosf(Float($0)) })
        let tape = Tape()
        let params = Dictionary(uniqueKeysWithValues: trainer.emaWeights.map { ($0.0, tape.constant($0.1)) })
        let want = try trainer.network.forward(tape, parameters: params, sample: tape.constant(x),
                                               timesteps: [3, 500], classLabels: [0, 2]).value
        // Measured 0 (bit-identical: the same kernels on both paths) (worst of 5 OpenBLAS kernels); 1e-7 is one float32 rounding.
        assertMeasured(relativeError(try model.forward(x, timesteps: [3, 500], classLabels: [0, 2]), want),
                       tolerance: 1e-7, "exported DiT vs training network")
        let scheduler = try SchedulerConfig(path: out + "/model/scheduler_config.json")
        XCTAssertEqual(scheduler.varianceType, "learned_range", "variance channels trained by the bound")

        var again = TinyDiTRun.recipe()
        again.initFrom = out + "/model"
        let b = try Trainer(recipe: again, dataset: TinyRun.dataset(), outDirectory: next, resume: false)
        for ((name, w), (_, e)) in zip(b.parameters, trainer.emaWeights) { XCTAssertEqual(w, e, name) }

        let png = next + "/dit.png"
        let run = try ClassifierCLITests.tweedie(["generate", "-m", out + "/model", "--steps", "3", "--class", "1",
                                                  "--cfg-scale", "2", "--seed", "5", "-o", png, "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: png), run.stderr)
    }

    func testClassCountMustMatchData() {
        var r = TinyDiTRun.recipe()
        r.modelConfigJSON = TinyDiTRun.modelConfig.replacingOccurrences(of: "\"num_embeds_ada_norm\": 2",
                                                                         with: "\"num_embeds_ada_norm\": 3")
        XCTAssertThrowsError(try Trainer(recipe: r, dataset: TinyRun.dataset(), outDirectory: "/tmp/unused",
                                         resume: false)) {
            XCTAssertTrue(($0 as? TweedieError)?.message.contains("num_embeds_ada_norm must be 2") ?? false, "\($0)")
        }
        r.modelConfigJSON = TinyDiTRun.modelConfig.replacingOccurrences(of: "DiTTransformer2DModel",
                                                                         with: "AutoencoderKL")
        XCTAssertThrowsError(try Trainer(recipe: r, dataset: TinyRun.dataset(), outDirectory: "/tmp/unused",
                                         resume: false)) {
            XCTAssertTrue(($0 as? TweedieError)?.message.contains("_class_name") ?? false, "\($0)")
        }
    }
}
