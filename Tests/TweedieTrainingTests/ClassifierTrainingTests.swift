import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieTraining

/// Classifier training on a tiny synthetic data set: the loss falls, resuming is exact, export and evaluation.
final class ClassifierTrainingTests: XCTestCase {
    /// 48 images 3x8x8 in three classes told apart by which colour channel carries a bright blob (and where),
    /// plus deterministic noise.
    static func syntheticData() -> TensorDataset {
        let n = 48
        var rng = ClassifierTestRandom(seed: 5)
        let labels = (0..<n).map { $0 % 3 }
        let images = Tensor(shape: [n, 3, 8, 8]) { out in
            for i in 0..<n {
                for c in 0..<3 {
                    for y in 0..<8 {
                        for x in 0..<8 {
                            let blob = c == labels[i] && (y / 4 == labels[i] % 2) && (x / 4 == labels[i] / 2)
                            out[((i * 3 + c) * 8 + y) * 8 + x] = (blob ? 0.8 : -0.5) + 0.3 * rng.nextSigned()
                        }
                    }
                }
            }
        }
        return TensorDataset(images: images, labels: labels, classNames: ["r", "g", "b"], recipe: "synthetic blobs")
    }

    static func recipe(epochs: Int = 10) -> ClassifierRecipe {
        var r = ClassifierRecipe()
        r.config = ClassifierModelTests.tinyConfig()
        r.epochs = epochs
        r.batch = 16
        r.learningRate = 1e-2
        r.warmupSteps = 2
        r.weightDecay = 0
        r.checkpointEvery = 1000
        r.logEvery = 5
        r.seed = 7
        return r
    }

    static func meanLoss(_ model: TweedieClassifier, _ data: TensorDataset) throws -> Float {
        let b = data.batch(Array(0..<data.count))
        return crossEntropy(logits: try model.logits(b.images), labels: b.labels!).loss
    }

    func testFewStepsLowerTheLoss() throws {
        let data = Self.syntheticData()
        let dir = try makeScratchDirectory("classifier-train")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trainer = try ClassifierTrainer(recipe: Self.recipe(), dataset: data, outDirectory: dir, resume: false)
        trainer.log = { _ in }
        XCTAssertEqual(trainer.totalSteps, 30)
        let before = try Self.meanLoss(trainer.model(), data)
        try trainer.run()
        XCTAssertTrue(trainer.isFinished)
        let after = try Self.meanLoss(trainer.model(), data)
        XCTAssertLessThan(after, 0.5 * before, "loss \(before) -> \(after)")
        let report = try ClassifierEvaluation.evaluate(trainer.model(), on: data, batch: 10)
        XCTAssertEqual(report.count, 48)
        XCTAssertGreaterThan(report.accuracy, 0.9)
        // The loss log has one row per 5 steps, the last at step 30.
        let rows = try String(contentsOfFile: dir + "/loss.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 7)
        XCTAssertTrue(rows.last!.hasPrefix("30,9,"))
    }

    /// 3 steps, checkpoint, resume, 3 more steps gives bit-identical weights to 6 steps in one go.
    func testResumeIsExact() throws {
        let data = Self.syntheticData()
        let straight = try makeScratchDirectory("classifier-straight")
        let split = try makeScratchDirectory("classifier-split")
        defer {
            try? FileManager.default.removeItem(atPath: straight)
            try? FileManager.default.removeItem(atPath: split)
        }
        let a = try ClassifierTrainer(recipe: Self.recipe(epochs: 2), dataset: data, outDirectory: straight,
                                      resume: false)
        a.log = { _ in }
        try a.run()
        let b = try ClassifierTrainer(recipe: Self.recipe(epochs: 2), dataset: data, outDirectory: split, resume: false)
        b.log = { _ in }
        try b.run(stopAfter: 4)
        XCTAssertEqual(b.state.step, 4)
        let c = try ClassifierTrainer(recipe: Self.recipe(epochs: 2), dataset: data, outDirectory: split, resume: true)
        c.log = { _ in }
        XCTAssertEqual(c.state.step, 4)
        try c.run()
        XCTAssertEqual(c.state.step, 6)
        for (x, y) in zip(a.state.parameters, c.state.parameters) { XCTAssertEqual(x.data, y.data) }
        let rows = try String(contentsOfFile: split + "/loss.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.map { $0.split(separator: ",")[0] }, ["step", "4", "5", "6"])

        // A checkpoint of another network is refused.
        var other = Self.recipe(epochs: 2)
        other.config.blockOutChannels = [4, 4]
        XCTAssertThrowsError(try ClassifierTrainer(recipe: other, dataset: data, outDirectory: split, resume: true))
    }

    func testRecipeJSONRoundTrip() throws {
        var r = Self.recipe()
        r.trainLimit = 40
        r.labelSmoothing = 0.1
        XCTAssertEqual(try ClassifierRecipe(jsonText: r.jsonText, source: "r"), r)
        XCTAssertEqual(try ClassifierRecipe(jsonText: ClassifierRecipe().jsonText, source: "r"), ClassifierRecipe())
        XCTAssertThrowsError(try ClassifierRecipe(jsonText: #"{"epochs": 2}"#, source: "r"))
        var bad = r
        bad.epochs = 0
        XCTAssertThrowsError(try bad.validate())
    }

    /// Export writes a loadable folder whose model card carries the evaluation.
    func testExportWritesFolderAndCard() throws {
        let data = Self.syntheticData()
        let dir = try makeScratchDirectory("classifier-export")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trainer = try ClassifierTrainer(recipe: Self.recipe(epochs: 2), dataset: data, outDirectory: dir,
                                            resume: false)
        trainer.log = { _ in }
        try trainer.run()
        let command = ClassifierExport.command(trainer.recipe, out: dir, export: dir + "/model", threads: 1)
        let card = try ClassifierExport.export(trainer, to: dir + "/model", test: data, hueShifted: nil,
                                               command: command, evalLimit: 30)
        XCTAssertEqual(card.test.count, 30)
        let model = try TweedieClassifier(folder: dir + "/model")
        let direct = try ClassifierEvaluation.evaluate(model, on: data, indices: Array(0..<30))
        XCTAssertEqual(direct, card.test)
        let text = try String(contentsOfFile: dir + "/model/MODEL_CARD.md", encoding: .utf8)
        XCTAssertTrue(text.contains(String(format: "%.2f%%", 100 * direct.accuracy)))
        XCTAssertTrue(text.contains(command))
        XCTAssertTrue(text.contains("| 2 c |"), "confusion matrix row of class 2")
        XCTAssertTrue(command.contains("--channels 4,8"))
    }
}

/// A tiny deterministic generator for test data (SplitMix64), uniform in [-1, 1).
struct ClassifierTestRandom {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }
    mutating func nextSigned() -> Float { rng.signedUnitFloat() }
}
