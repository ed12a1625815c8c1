import Foundation
import TweedieCore
import TweedieModels
import TweedieNoise

/// Everything that defines a training run: data, network, objective, optimiser, schedule and bookkeeping.
/// Read from a recipe JSON (`tweedie train --recipe`) whose keys are the snake_case names below, then overridden
/// by command-line flags. Stored in every checkpoint, so a resumed run continues with the same settings.
public struct TrainingRecipe: Equatable {
    /// Data set name (`TrainingData.names`).
    public var data = "fashion32"
    /// The network's config (diffusers config.json fields; `_class_name` UNet2DModel, the default, or
    /// DiTTransformer2DModel) as a JSON object text.
    public var modelConfigJSON = ""
    /// Optimiser steps in all.
    public var steps = 10_000
    /// Samples per step.
    public var batch = 32
    /// Peak learning rate.
    public var learningRate: Float = 2e-4
    /// Linear warm-up steps.
    public var warmupSteps = 500
    /// Decay after the warm-up.
    public var lrDecay = LearningRateSchedule.Decay.cosine
    /// AdamW decoupled weight decay.
    public var weightDecay: Float = 0.0
    /// Global gradient-norm limit (0: none).
    public var gradClip: Float = 1.0
    /// EMA maximum decay.
    public var emaDecay: Float = 0.999
    /// Probability of replacing a label by the null class (class-conditional models).
    public var labelDropout: Float = 0.1
    /// What the network learns to predict: epsilon or v_prediction.
    public var prediction = PredictionType.epsilon
    /// Seed of initialisation, data order, timesteps, noise and label dropout.
    public var seed: UInt64 = 0
    /// Write a checkpoint (and the model folder) every this many steps.
    public var checkpointEvery = 200
    /// Write a sample grid every this many steps (0: only at the end).
    public var sampleEvery = 1_000
    /// Print a progress line and log the loss every this many steps.
    public var logEvery = 10
    /// Checkpoints kept on disk (oldest removed first).
    public var keepCheckpoints = 2
    /// Recompute resnets and attentions (U-Net) or blocks (DiT) in the backward pass (less memory).
    public var gradientCheckpointing = false
    /// Start from the weights of this diffusers folder (same architecture) instead of a fresh initialisation;
    /// optimiser and EMA start anew. Ignored when resuming from a checkpoint.
    public var initFrom: String?
    /// An AutoencoderKL folder: when set, the network is trained on the data's latents under it (`LatentDataset`)
    /// and exported as a diffusers pipeline folder with the autoencoder in vae/.
    public var vae: String?
    /// Sampler, steps and classifier-free guidance scale of the sample grids.
    public var sampler = "ddim"
    public var sampleSteps = 20
    public var guidance: Float = 3
    /// Images per class in the sample grid (16 in all for unconditional models).
    public var samplesPerClass = 4

    /// The defaults.
    public init() {}

    /// Reads a recipe object: every key optional; `model_config` (a path, resolved against `baseDirectory`) or
    /// `model` (an inline config object) gives the network. Wrong-typed values are badInput naming file and key.
    public init(json object: [String: Any], source: String, baseDirectory: String) throws {
        func value<T>(_ key: String, _ type: T.Type) throws -> T? {
            guard let v = object[key], !(v is NSNull) else { return nil }
            guard let t = v as? T else { throw TweedieError.badInput("\(source): key '\(key)' has the wrong type") }
            return t
        }
        func number(_ key: String) throws -> Double? { try value(key, NSNumber.self)?.doubleValue }
        let known: Set<String> = ["data", "model_config", "model", "steps", "batch", "lr", "warmup", "lr_decay",
                                  "weight_decay", "grad_clip", "ema_decay", "label_dropout", "prediction", "seed",
                                  "checkpoint_every", "sample_every", "log_every", "keep_checkpoints",
                                  "gradient_checkpointing", "init_from", "vae", "sampler", "sample_steps", "guidance", "samples_per_class"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw TweedieError.badInput("\(source): unknown key '\(unknown)'")
        }
        if let d = try value("data", String.self) { data = d }
        if let path = try value("model_config", String.self) {
            let full = path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
            modelConfigJSON = try TrainingRecipe.readConfigText(full)
        }
        if let inline = try value("model", [String: Any].self) {
            modelConfigJSON = String(decoding: try JSONSerialization.data(withJSONObject: inline, options: [.sortedKeys]),
                                     as: UTF8.self)
        }
        if let v = try number("steps") { steps = Int(v) }
        if let v = try number("batch") { batch = Int(v) }
        if let v = try number("lr") { learningRate = Float(v) }
        if let v = try number("warmup") { warmupSteps = Int(v) }
        if let v = try value("lr_decay", String.self) {
            guard let d = LearningRateSchedule.Decay(rawValue: v) else {
                throw TweedieError.badInput("\(source): key 'lr_decay' must be cosine or constant, got \(v)")
            }
            lrDecay = d
        }
        if let v = try number("weight_decay") { weightDecay = Float(v) }
        if let v = try number("grad_clip") { gradClip = Float(v) }
        if let v = try number("ema_decay") { emaDecay = Float(v) }
        if let v = try number("label_dropout") { labelDropout = Float(v) }
        if let v = try value("prediction", String.self) { prediction = try TrainingRecipe.prediction(v, flag: source) }
        if let v = try number("seed") { seed = UInt64(v) }
        if let v = try number("checkpoint_every") { checkpointEvery = Int(v) }
        if let v = try number("sample_every") { sampleEvery = Int(v) }
        if let v = try number("log_every") { logEvery = Int(v) }
        if let v = try number("keep_checkpoints") { keepCheckpoints = Int(v) }
        if let v = try value("gradient_checkpointing", Bool.self) { gradientCheckpointing = v }
        if let v = try value("init_from", String.self) {
            initFrom = v.hasPrefix("/") ? v : (baseDirectory as NSString).appendingPathComponent(v)
        }
        if let v = try value("vae", String.self) {
            // Absolute, so the checkpoint's copy of the recipe still finds it when --resume runs from elsewhere.
            let joined = v.hasPrefix("/") ? v : (baseDirectory as NSString).appendingPathComponent(v)
            let cwd = FileManager.default.currentDirectoryPath
            vae = ((joined.hasPrefix("/") ? joined : (cwd as NSString).appendingPathComponent(joined)) as NSString)
                .standardizingPath
        }
        if let v = try value("sampler", String.self) { sampler = v }
        if let v = try number("sample_steps") { sampleSteps = Int(v) }
        if let v = try number("guidance") { guidance = Float(v) }
        if let v = try number("samples_per_class") { samplesPerClass = Int(v) }
    }

    /// Reads a recipe file.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TweedieError.badInput("\(path): cannot read recipe")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TweedieError.badInput("\(path): not a JSON object")
        }
        try self.init(json: object, source: path, baseDirectory: (path as NSString).deletingLastPathComponent)
    }

    /// "epsilon", "v" or "v_prediction".
    public static func prediction(_ name: String, flag: String) throws -> PredictionType {
        switch name {
        case "epsilon": return .epsilon
        case "v", "v_prediction": return .vPrediction
        default: throw TweedieError.badInput("\(flag): prediction must be epsilon or v, got \(name)")
        }
    }

    /// The text of a model config file (validated as a JSON object).
    public static func readConfigText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TweedieError.badInput("\(path): cannot read model config")
        }
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw TweedieError.badInput("\(path): model config is not a JSON object")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The model config of a U-Net recipe parsed and checked.
    public func modelConfig() throws -> UNet2DConfig {
        guard !modelConfigJSON.isEmpty else {
            throw TweedieError.badInput("--model-config: no model config given (flag or recipe key model_config)")
        }
        return try UNet2DConfig(json: JSONConfig(data: Data(modelConfigJSON.utf8), path: "model config"))
    }

    /// The differentiable network the model config describes (its `_class_name` picks U-Net or DiT).
    public func network() throws -> DifferentiableDiffusionNetwork {
        guard !modelConfigJSON.isEmpty else {
            throw TweedieError.badInput("--model-config: no model config given (flag or recipe key model_config)")
        }
        return try DifferentiableNetworks.make(configJSON: modelConfigJSON, source: "model config",
                                               checkpointing: gradientCheckpointing)
    }

    /// Checks ranges; each failure names the flag.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw TweedieError.badInput(message) } }
        try check(steps >= 1, "--steps: must be at least 1, got \(steps)")
        try check(batch >= 1, "--batch: must be at least 1, got \(batch)")
        try check(learningRate > 0, "--lr: must be positive, got \(learningRate)")
        try check(warmupSteps >= 0, "--warmup: must be non-negative")
        try check((0..<1).contains(labelDropout), "--label-dropout: must be in [0, 1), got \(labelDropout)")
        try check(checkpointEvery >= 1, "--checkpoint-every: must be at least 1")
        try check(sampleEvery >= 0, "--sample-every: must be non-negative")
        try check(logEvery >= 1, "--log-every: must be at least 1")
        try check(keepCheckpoints >= 1, "keep_checkpoints: must be at least 1")
        try check(emaDecay >= 0 && emaDecay < 1, "ema_decay: must be in [0, 1)")
        try check(sampleSteps >= 1, "sample_steps: must be at least 1")
    }

    /// The sample grids' settings (the sampler name is checked by the renderer the trainer is given).
    public var sampleGridSettings: SampleGridSettings {
        SampleGridSettings(sampler: sampler, steps: sampleSteps, guidance: guidance, perClass: samplesPerClass)
    }

    /// The recipe as a JSON object (the keys `init(json:)` reads, with the model config inline).
    public var jsonObject: [String: Any] {
        // Through the shortest decimal text, so 5e-4 is written as 0.0005 rather than 0.0005000000237487257.
        func d(_ f: Float) -> Double { Double("\(f)") ?? Double(f) }
        var o: [String: Any] = [
            "data": data, "steps": steps, "batch": batch, "lr": d(learningRate), "warmup": warmupSteps,
            "lr_decay": lrDecay.rawValue, "weight_decay": d(weightDecay), "grad_clip": d(gradClip),
            "ema_decay": d(emaDecay), "label_dropout": d(labelDropout),
            "prediction": prediction.rawValue, "seed": seed, "checkpoint_every": checkpointEvery,
            "sample_every": sampleEvery, "log_every": logEvery, "keep_checkpoints": keepCheckpoints,
            "gradient_checkpointing": gradientCheckpointing, "sampler": sampler, "sample_steps": sampleSteps,
            "guidance": d(guidance), "samples_per_class": samplesPerClass,
        ]
        if let model = try? JSONSerialization.jsonObject(with: Data(modelConfigJSON.utf8)) { o["model"] = model }
        if let initFrom { o["init_from"] = initFrom }
        if let vae { o["vae"] = vae }
        return o
    }

    /// `jsonObject` as sorted, indented text.
    public var jsonText: String {
        let data = (try? JSONSerialization.data(withJSONObject: jsonObject, options: [.prettyPrinted, .sortedKeys]))
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
