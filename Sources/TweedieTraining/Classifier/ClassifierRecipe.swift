import Foundation
import TweedieCore
import TweedieData
import TweedieModels

/// Everything that defines a classifier training run. Stored (as JSON) in every checkpoint so a resumed run
/// continues with the same settings, and printed into the model card.
public struct ClassifierRecipe: Equatable {
    /// The network.
    public var config = ClassifierConfig(classNames: FashionMNIST.classNames)
    /// Passes over the training images.
    public var epochs = 4
    /// Images per optimiser step.
    public var batch = 64
    /// Peak learning rate (AdamW).
    public var learningRate: Float = 2e-3
    /// Linear warm-up steps, then a half-cosine to zero at the last step.
    public var warmupSteps = 200
    /// AdamW decoupled weight decay.
    public var weightDecay: Float = 0.05
    /// Cross-entropy label smoothing.
    public var labelSmoothing: Float = 0
    /// Global gradient-norm limit (0: none).
    public var gradClip: Float = 1
    /// Seed of the initial weights and the data order.
    public var seed: UInt64 = 0
    /// Seed of the class-linked-hue colours (the diffusion runs' data use 0).
    public var colourSeed: UInt64 = 0
    /// Share of training images painted in a random class's hue, labels unchanged (`RecolouredFashionDataset`):
    /// 0 trains on the recipe as is, where the hue alone gives the class away; 1 makes the network read shapes.
    public var recolour: Float = 0
    /// Train on the first this many training images only (nil: all); for tests and quick runs.
    public var trainLimit: Int?
    /// Steps between checkpoints.
    public var checkpointEvery = 250
    /// Steps between progress lines.
    public var logEvery = 50

    /// The defaults: the assets/classifier32 run.
    public init() {}

    /// Optimiser steps per epoch over `count` images (the last, partial batch is dropped).
    public func stepsPerEpoch(count: Int) -> Int { max(1, count / batch) }

    /// Throws `badInput` naming the setting that cannot run.
    public func validate() throws {
        func fail(_ key: String, _ why: String) -> TweedieError { .badInput("classifier recipe '\(key)': \(why)") }
        try config.validate(source: "classifier recipe 'config'")
        guard epochs >= 1 else { throw fail("epochs", "must be at least 1, got \(epochs)") }
        guard batch >= 1 else { throw fail("batch", "must be at least 1, got \(batch)") }
        guard learningRate > 0, learningRate.isFinite else { throw fail("lr", "must be positive, got \(learningRate)") }
        guard warmupSteps >= 0 else { throw fail("warmup", "must be at least 0, got \(warmupSteps)") }
        guard weightDecay >= 0 else { throw fail("weight_decay", "must be at least 0, got \(weightDecay)") }
        guard (0..<1).contains(labelSmoothing) else {
            throw fail("label_smoothing", "must be in [0, 1), got \(labelSmoothing)")
        }
        guard gradClip >= 0 else { throw fail("grad_clip", "must be at least 0, got \(gradClip)") }
        guard (0...1).contains(recolour) else { throw fail("recolour", "must be in [0, 1], got \(recolour)") }
        if let trainLimit, trainLimit < 1 { throw fail("train_limit", "must be at least 1, got \(trainLimit)") }
        guard checkpointEvery >= 1 else { throw fail("checkpoint_every", "must be at least 1, got \(checkpointEvery)") }
        guard logEvery >= 1 else { throw fail("log_every", "must be at least 1, got \(logEvery)") }
    }

    /// The recipe as one line of JSON (sorted keys; the config inline).
    public var jsonText: String {
        var object: [String: Any] = [
            "epochs": epochs, "batch": batch, "lr": Double(String(learningRate)) ?? 0, "warmup": warmupSteps,
            "weight_decay": Double(String(weightDecay)) ?? 0, "label_smoothing": Double(String(labelSmoothing)) ?? 0,
            "grad_clip": Double(String(gradClip)) ?? 0, "recolour": Double(String(recolour)) ?? 0, "seed": seed,
            "colour_seed": colourSeed,
            "checkpoint_every": checkpointEvery, "log_every": logEvery,
            "config": (try? JSONSerialization.jsonObject(with: Data(config.jsonText.utf8))) ?? [:],
        ]
        if let trainLimit { object["train_limit"] = trainLimit }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a recipe written by `jsonText`; `source` names it in errors (wrong-typed keys are badInput naming it).
    public init(jsonText: String, source: String) throws {
        let json = try JSONConfig(data: Data(jsonText.utf8), path: source)
        guard let object = try? JSONSerialization.jsonObject(with: Data(jsonText.utf8)) as? [String: Any],
              let configObject = object["config"] as? [String: Any],
              let configData = try? JSONSerialization.data(withJSONObject: configObject) else {
            throw TweedieError.badInput("\(source): classifier recipe lacks its 'config' object")
        }
        config = try ClassifierConfig(json: JSONConfig(data: configData, path: "\(source) (config)"))
        epochs = try json.int("epochs", default: epochs)
        batch = try json.int("batch", default: batch)
        learningRate = try json.float("lr", default: learningRate)
        warmupSteps = try json.int("warmup", default: warmupSteps)
        weightDecay = try json.float("weight_decay", default: weightDecay)
        labelSmoothing = try json.float("label_smoothing", default: labelSmoothing)
        gradClip = try json.float("grad_clip", default: gradClip)
        recolour = try json.float("recolour", default: 0)
        seed = UInt64(max(0, try json.int("seed", default: 0)))
        colourSeed = UInt64(max(0, try json.int("colour_seed", default: 0)))
        trainLimit = try json.int("train_limit")
        checkpointEvery = try json.int("checkpoint_every", default: checkpointEvery)
        logEvery = try json.int("log_every", default: logEvery)
        try validate()
    }
}
