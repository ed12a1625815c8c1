import Foundation
import TweedieCore
import TweedieTraining

/// A training run of an AutoencoderKL (`tweedie train` with an AutoencoderKL model config): data, network,
/// loss weights, optimiser and bookkeeping. Read from recipe JSON (snake_case keys below, all optional but the
/// model), overridden by flags, and stored in every checkpoint so `--resume` needs nothing else.
public struct AutoencoderRecipe: Equatable, OptimiserSettings {
    /// Data set name (`TrainingData.names`).
    public var data = "fashion32"
    /// The AutoencoderKL config (diffusers config.json fields) as JSON object text.
    public var modelConfigJSON = ""
    public var steps = 20_000
    public var batch = 32
    public var learningRate: Float = 4.5e-4
    public var warmupSteps = 500
    public var lrDecay = LearningRateSchedule.Decay.cosine
    public var weightDecay: Float = 0
    /// Global gradient-norm limit (0: none).
    public var gradClip: Float = 1
    /// Weight of the KL term (per-sample sum over latent elements, averaged over the batch, as the latent
    /// diffusion autoencoders weigh it); the reconstruction term is the mean absolute error per pixel.
    public var klWeight: Float = 1e-6
    /// Seed of the initial weights, the data order and the posterior samples.
    public var seed: UInt64 = 0
    public var checkpointEvery = 250
    public var keepCheckpoints = 2
    public var logEvery = 10
    /// Start from this AutoencoderKL folder's weights (same architecture) instead of a fresh initialisation.
    public var initFrom: String?

    /// The defaults (a model config is still needed).
    public init() {}

    /// Reads a recipe object; unknown keys and wrong types are `badInput` naming `source` and the key.
    public init(json object: [String: Any], source: String, baseDirectory: String) throws {
        let known: Set<String> = ["data", "model", "steps", "batch", "lr", "warmup", "lr_decay", "weight_decay",
                                  "grad_clip", "kl_weight", "seed", "checkpoint_every", "keep_checkpoints",
                                  "log_every", "init_from"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw TweedieError.badInput("\(source): unknown key '\(unknown)'")
        }
        func value<T>(_ key: String, _ type: T.Type) throws -> T? {
            guard let v = object[key], !(v is NSNull) else { return nil }
            guard let t = v as? T else { throw TweedieError.badInput("\(source): key '\(key)' has the wrong type") }
            return t
        }
        func number(_ key: String) throws -> Double? {
            guard let v = try value(key, NSNumber.self)?.doubleValue else { return nil }
            guard v.isFinite else { throw TweedieError.badInput("\(source): key '\(key)' must be finite") }
            return v
        }
        func count(_ key: String) throws -> Int? {
            guard let v = try number(key) else { return nil }
            guard v >= 0, v <= 1e9, v == v.rounded() else {
                throw TweedieError.badInput("\(source): key '\(key)' must be a whole number in [0, 1e9], got \(v)")
            }
            return Int(v)
        }
        if let d = try value("data", String.self) { data = d }
        if let inline = try value("model", [String: Any].self) {
            modelConfigJSON = String(decoding: try JSONSerialization.data(withJSONObject: inline, options: [.sortedKeys]),
                                     as: UTF8.self)
        }
        if let v = try count("steps") { steps = v }
        if let v = try count("batch") { batch = v }
        if let v = try number("lr") { learningRate = Float(v) }
        if let v = try count("warmup") { warmupSteps = v }
        if let v = try value("lr_decay", String.self) {
            guard let d = LearningRateSchedule.Decay(rawValue: v) else {
                throw TweedieError.badInput("\(source): key 'lr_decay' must be cosine or constant, got \(v)")
            }
            lrDecay = d
        }
        if let v = try number("weight_decay") { weightDecay = Float(v) }
        if let v = try number("grad_clip") { gradClip = Float(v) }
        if let v = try number("kl_weight") { klWeight = Float(v) }
        if let v = try count("seed") { seed = UInt64(v) }
        if let v = try count("checkpoint_every") { checkpointEvery = v }
        if let v = try count("keep_checkpoints") { keepCheckpoints = v }
        if let v = try count("log_every") { logEvery = v }
        if let v = try value("init_from", String.self) {
            initFrom = v.hasPrefix("/") ? v : (baseDirectory as NSString).appendingPathComponent(v)
        }
    }

    /// Reads the recipe text of a file or a checkpoint's metadata.
    public init(text: String, source: String, baseDirectory: String = "/") throws {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw TweedieError.badInput("\(source): not a JSON object")
        }
        try self.init(json: object, source: source, baseDirectory: baseDirectory)
    }

    /// Whether recipe text names an AutoencoderKL model (so `tweedie train` takes this path).
    public static func describesAutoencoder(_ text: String) -> Bool {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
              let model = object["model"] as? [String: Any] else { return false }
        return model["_class_name"] as? String == "AutoencoderKL"
    }

    /// Fails with `badInput` naming the key of the first value out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw TweedieError.badInput(message) } }
        try check(!modelConfigJSON.isEmpty, "recipe: 'model' (an AutoencoderKL config object) is required")
        try check(steps >= 1, "--steps: must be at least 1")
        try check(batch >= 1 && batch <= 4096, "--batch: must be in [1, 4096], got \(batch)")
        try check(learningRate > 0 && learningRate.isFinite, "--lr: must be a positive number")
        try check(weightDecay >= 0, "weight_decay: must be non-negative")
        try check(gradClip >= 0, "grad_clip: must be non-negative (0: no clipping)")
        try check(klWeight >= 0, "kl_weight: must be non-negative")
        try check(checkpointEvery >= 1, "--checkpoint-every: must be at least 1")
        try check(keepCheckpoints >= 1, "keep_checkpoints: must be at least 1")
        try check(logEvery >= 1, "--log-every: must be at least 1")
    }

    /// The recipe as JSON text (the keys `init(json:)` reads), stored in checkpoints.
    public var jsonText: String {
        var o: [String: Any] = [
            "data": data, "steps": steps, "batch": batch, "lr": Double(learningRate), "warmup": warmupSteps,
            "lr_decay": lrDecay.rawValue, "weight_decay": Double(weightDecay), "grad_clip": Double(gradClip),
            "kl_weight": Double(klWeight), "seed": seed, "checkpoint_every": checkpointEvery,
            "keep_checkpoints": keepCheckpoints, "log_every": logEvery,
        ]
        if let model = try? JSONSerialization.jsonObject(with: Data(modelConfigJSON.utf8)) { o["model"] = model }
        if let initFrom { o["init_from"] = initFrom }
        let data = (try? JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
