import Foundation
import TweedieCore
import TweedieTraining

/// Every setting of a reward-backpropagation run (`tweedie finetune`); stored in each checkpoint, so `--resume`
/// continues with the same ones. Defaults follow the current official code where it applies to this scale
/// (LoRA r = alpha = 4 on the attention projections, AdamW lr 1e-3 with weight decay 1e-4, gradient clip 1,
/// batch 4 with 2 accumulation steps); DDIM is deterministic (η = 0, the original code's sampler; the current
/// code's η = 1 is not implemented), and CFG 3 is the bundled model's `generate` default.
public struct AlignPropSettings: Equatable, Sendable {
    /// The model folder.
    public var model: String = ""
    /// The reward spec (`colorfulness`, `classifier:N`, `smoothness`, or a registered one).
    public var reward: String = "colorfulness"
    /// Judge folder of `classifier:N`.
    public var judge: String?
    public var loraRank = 4
    /// peft's lora_alpha (nil: equal to the rank, scale 1).
    public var loraAlpha: Float?
    public var loraTargets: LoRATargets = .attention
    public var learningRate: Float = 1e-3
    /// Linear warm-up of the learning rate over the first updates (0: none, the official code's).
    public var warmupSteps = 0
    public var weightDecay: Float = 1e-4
    /// Global gradient-norm clip.
    public var gradClip: Float = 1
    /// Trajectories per micro-batch, and micro-batches per update.
    public var batch = 4
    public var accumulate = 2
    /// Optimiser updates of the run.
    public var steps = 100
    public var truncation: Truncation = .last(1)
    /// CFG scale w (diffusers' convention; 1 runs the conditional pass alone).
    public var cfgScale: Float = 3
    public var samplingSteps = 20
    /// Class of every trajectory; nil cycles through the classes, image i taking the class `generate` gives it.
    public var classID: Int?
    /// Seed of the LoRA initialisation, the initial noise (trajectory i uses seed + i, as `generate --seed`) and
    /// the truncation draws.
    public var seed: UInt64 = 0
    /// Recompute every sampling step in the backward pass (memory of one step; bitwise the same gradients).
    public var gradientCheckpointing = true
    public var checkpointEvery = 10
    public var logEvery = 1

    /// The defaults.
    public init() {}

    /// The alpha in effect.
    public var alpha: Float { loraAlpha ?? Float(loraRank) }

    /// The learning rate of (0-based) update k: linear warm-up to `learningRate`, then constant.
    public func rate(at k: Int) -> Float {
        LearningRateSchedule(base: learningRate, warmupSteps: warmupSteps, totalSteps: steps, decay: .constant).rate(at: k)
    }

    /// The optimisation loop's part.
    public var loop: TuningLoopSettings {
        TuningLoopSettings(steps: steps, accumulate: accumulate, maxGradNorm: gradClip, checkpointEvery: checkpointEvery,
                           logEvery: logEvery)
    }

    /// Checks the values that do not depend on the model; failures are `badInput` naming the flag.
    public func validate() throws {
        try loop.validate()
        guard batch >= 1 else { throw TweedieError.badInput("--batch: must be at least 1, got \(batch)") }
        guard loraRank >= 1 else { throw TweedieError.badInput("--lora-rank: must be at least 1, got \(loraRank)") }
        guard learningRate > 0, learningRate.isFinite else {
            throw TweedieError.badInput("--lr: must be a positive number, got \(learningRate)")
        }
        guard warmupSteps >= 0 else { throw TweedieError.badInput("--warmup: must be >= 0, got \(warmupSteps)") }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw TweedieError.badInput("--weight-decay: must be >= 0, got \(weightDecay)")
        }
        guard cfgScale.isFinite, cfgScale >= 0 else {
            throw TweedieError.badInput("--cfg-scale: must be a finite number >= 0, got \(cfgScale)")
        }
        guard samplingSteps >= 1, samplingSteps <= 1000 else {
            throw TweedieError.badInput("--sampling-steps: must be in 1...1000, got \(samplingSteps)")
        }
        try truncation.validate(steps: samplingSteps)
    }

    /// The settings as one JSON object (checkpoint metadata and `settings.json`).
    public var json: String {
        var o: [String: JSONOutput] = [
            "model": .string(model), "reward": .string(reward), "lora_rank": .int(loraRank),
            "lora_targets": .string(loraTargets.rawValue),
            "lr": .number(Double(learningRate)), "warmup": .int(warmupSteps), "weight_decay": .number(Double(weightDecay)),
            "grad_clip": .number(Double(gradClip)), "batch": .int(batch), "accumulate": .int(accumulate),
            "steps": .int(steps), "truncation": .string(truncation.description), "cfg_scale": .number(Double(cfgScale)),
            "sampling_steps": .int(samplingSteps), "seed": .string(String(seed)),
            "gradient_checkpointing": .bool(gradientCheckpointing), "checkpoint_every": .int(checkpointEvery),
            "log_every": .int(logEvery),
        ]
        if let judge { o["judge"] = .string(judge) }
        // Absent: alpha follows the rank.
        if let loraAlpha { o["lora_alpha"] = .number(Double(loraAlpha)) }
        if let classID { o["class"] = .int(classID) }
        return JSONOutput.object(o).text
    }

    /// Settings from `json` (as `json` writes them); `source` names it in errors.
    public init(json text: String, source: String) throws {
        guard let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw TweedieError.badInput("\(source): finetune settings are not a JSON object")
        }
        func get<T>(_ key: String, _ type: T.Type) throws -> T {
            guard let v = o[key] as? T else { throw TweedieError.badInput("\(source): finetune settings lack '\(key)'") }
            return v
        }
        func float(_ key: String) throws -> Float { try get(key, NSNumber.self).floatValue }
        func int(_ key: String) throws -> Int { try get(key, NSNumber.self).intValue }
        self.init()
        model = try get("model", String.self)
        reward = try get("reward", String.self)
        judge = o["judge"] as? String
        loraRank = try int("lora_rank")
        loraAlpha = (o["lora_alpha"] as? NSNumber)?.floatValue
        loraTargets = try LoRATargets(parsing: get("lora_targets", String.self))
        learningRate = try float("lr")
        warmupSteps = try int("warmup")
        weightDecay = try float("weight_decay")
        gradClip = try float("grad_clip")
        batch = try int("batch")
        accumulate = try int("accumulate")
        steps = try int("steps")
        truncation = try Truncation(parsing: get("truncation", String.self))
        cfgScale = try float("cfg_scale")
        samplingSteps = try int("sampling_steps")
        classID = (o["class"] as? NSNumber)?.intValue
        guard let s = UInt64(try get("seed", String.self)) else { throw TweedieError.badInput("\(source): bad 'seed'") }
        seed = s
        gradientCheckpointing = try get("gradient_checkpointing", Bool.self)
        checkpointEvery = try int("checkpoint_every")
        logEvery = try int("log_every")
    }
}

extension AlignPropSettings: OptimiserSettings {}
