import Foundation
import TweedieCore

/// How a pruning run scores the units it removes.
public enum PruningMethod: String, CaseIterable, Sendable {
    /// EcoDiff: hard-concrete masks learned end to end through the whole deterministic trajectory.
    case trajectory
    /// The same masks learned from one denoiser call per trajectory (a random step of the unpruned trajectory):
    /// the local-loss baseline.
    case oneStep = "one-step"
    /// No training: the RMS of each unit's weights (the consumer's columns and the producers' weight rows).
    case magnitude
    /// No training: counter-based random scores.
    case random

    /// Whether the method learns logits.
    public var learns: Bool { self == .trajectory || self == .oneStep }
}

/// Every setting of a `tweedie prune` run; stored in its checkpoints, so `--resume` continues with the same ones
/// and refuses others. Defaults follow EcoDiff's code where it applies at this scale: 100 calibration pairs, λ
/// starting at 3, AdamW at lr 0.1 on λ alone, one trajectory per micro-batch and 4 accumulated (its `accumulate
/// 4`), 100 updates (its 4 epochs over 100 samples); hard-concrete β 0.83, γ −0.1, ζ 1.1, ε 0.5. Weight decay is
/// 0 (the official 0.01 pulls λ toward 0, a mask of ½, not toward "off"), and the regulariser is the
/// parameter-weighted L0 surrogate (`PruningRegularizer`).
public struct PruningSettings: Equatable, Sendable {
    /// The model folder.
    public var model: String = ""
    public var method: PruningMethod = .trajectory
    /// Share of the prunable parameters removed at export (global ranking).
    public var ratio: Double = 0.2
    /// Calibration (class, seed) pairs.
    public var calibration = 100
    /// Trajectories per micro-batch (they share one mask draw) and micro-batches per update.
    public var batch = 1
    public var accumulate = 4
    /// Optimiser updates.
    public var steps = 100
    public var samplingSteps = 20
    /// CFG scale w of the trajectories (the judge's protocol samples at 3).
    public var cfgScale: Float = 3
    public var learningRate: Float = 0.1
    public var weightDecay: Float = 0
    /// Weight α of the sparsity term.
    public var regWeight: Float = 1
    /// Initial logit λ of every unit.
    public var initLogit: Float = 3
    public var gate = HardConcrete()
    /// Seed of the calibration noise (pair i uses seed + i), the mask noise and the random scores.
    public var seed: UInt64 = 0
    /// Recompute every sampling step in the backward pass (memory of one step, bitwise the same gradients).
    public var stepCheckpointing = true
    public var checkpointEvery = 10
    public var logEvery = 1

    /// The defaults.
    public init() {}

    /// The settings that decide the result, as (flag, value): a resumed run must match every one.
    public var identity: [(flag: String, value: String)] {
        var out: [(String, String)] = [("-m", model), ("--method", method.rawValue), ("--ratio", "\(ratio)")]
        guard method.learns else { return out + [("--seed", "\(seed)")] }
        out += [("--calibration", "\(calibration)"), ("--batch", "\(batch)"), ("--accumulate", "\(accumulate)"),
                ("--steps", "\(steps)"), ("--sampling-steps", "\(samplingSteps)"), ("--cfg-scale", "\(cfgScale)"),
                ("--lr", "\(learningRate)"), ("--weight-decay", "\(weightDecay)"), ("--reg-weight", "\(regWeight)"),
                ("--init-logit", "\(initLogit)"), ("--beta", "\(gate.beta)"), ("--gamma", "\(gate.gamma)"),
                ("--zeta", "\(gate.zeta)"), ("--mask-eps", "\(gate.eps)"), ("--seed", "\(seed)")]
        return out
    }

    /// The first setting in which `self` (what was asked) differs from `stored` (what the run in `directory` was
    /// started with), as a one-line message; nil when they agree.
    public func mismatch(_ stored: PruningSettings, directory: String) -> String? {
        for (mine, theirs) in zip(identity, stored.identity) where mine.value != theirs.value || mine.flag != theirs.flag {
            return "--resume: the run in \(directory) was started with \(theirs.flag) \(theirs.value), not "
                + "\(mine.flag) \(mine.value) (drop the flag, or start a new run with another --out)"
        }
        return identity.count == stored.identity.count ? nil
            : "--resume: the run in \(directory) used --method \(stored.method.rawValue)"
    }

    /// Checks the values; failures are `badInput` naming the flag.
    public func validate() throws {
        guard ratio > 0, ratio < 1, ratio.isFinite else {
            throw TweedieError.badInput("--ratio: must be strictly between 0 and 1 (a share of the prunable "
                                        + "parameters), got \(ratio)")
        }
        guard method.learns else { return }
        try loop.validate()
        guard calibration >= 1 else { throw TweedieError.badInput("--calibration: must be at least 1, got \(calibration)") }
        guard batch >= 1 else { throw TweedieError.badInput("--batch: must be at least 1, got \(batch)") }
        guard samplingSteps >= 1, samplingSteps <= 1000 else {
            throw TweedieError.badInput("--sampling-steps: must be in 1...1000, got \(samplingSteps)")
        }
        guard cfgScale.isFinite, cfgScale >= 0 else {
            throw TweedieError.badInput("--cfg-scale: must be a finite number >= 0, got \(cfgScale)")
        }
        guard learningRate > 0, learningRate.isFinite else {
            throw TweedieError.badInput("--lr: must be a positive number, got \(learningRate)")
        }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw TweedieError.badInput("--weight-decay: must be >= 0, got \(weightDecay)")
        }
        guard regWeight >= 0, regWeight.isFinite else {
            throw TweedieError.badInput("--reg-weight: must be >= 0, got \(regWeight)")
        }
        guard initLogit.isFinite else { throw TweedieError.badInput("--init-logit: must be finite, got \(initLogit)") }
        try gate.validate()
    }

    /// The optimisation loop's part (no gradient clipping: AdamW normalises each logit's step already).
    public var loop: TuningLoopSettings {
        TuningLoopSettings(steps: steps, accumulate: accumulate, maxGradNorm: nil, checkpointEvery: checkpointEvery,
                           logEvery: logEvery)
    }

    /// The settings as one JSON object (checkpoint metadata, `settings.json`, the model card). Floats are written
    /// by their shortest decimal (0.83, not 0.8299999833), which reads back to the same Float.
    public var json: String {
        func f(_ x: Float) -> JSONOutput { .number(Double("\(x)") ?? Double(x)) }
        return JSONOutput.object([
            "model": .string(model), "method": .string(method.rawValue), "ratio": .number(ratio),
            "calibration": .int(calibration), "batch": .int(batch), "accumulate": .int(accumulate),
            "steps": .int(steps), "sampling_steps": .int(samplingSteps), "cfg_scale": f(cfgScale),
            "lr": f(learningRate), "weight_decay": f(weightDecay),
            "reg_weight": f(regWeight), "init_logit": f(initLogit),
            "beta": f(gate.beta), "gamma": f(gate.gamma),
            "zeta": f(gate.zeta), "mask_eps": f(gate.eps), "seed": .string(String(seed)),
            "step_checkpointing": .bool(stepCheckpointing), "checkpoint_every": .int(checkpointEvery),
            "log_every": .int(logEvery),
        ]).text
    }

    /// Settings from `json` (as `json` writes them); `source` names it in errors.
    public init(json text: String, source: String) throws {
        guard let o = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw TweedieError.badInput("\(source): pruning settings are not a JSON object")
        }
        func get<T>(_ key: String, _ type: T.Type) throws -> T {
            guard let v = o[key] as? T else { throw TweedieError.badInput("\(source): pruning settings lack '\(key)'") }
            return v
        }
        func float(_ key: String) throws -> Float { try get(key, NSNumber.self).floatValue }
        func int(_ key: String) throws -> Int { try get(key, NSNumber.self).intValue }
        self.init()
        model = try get("model", String.self)
        guard let m = PruningMethod(rawValue: try get("method", String.self)) else {
            throw TweedieError.badInput("\(source): unknown pruning method '\(o["method"] ?? "")'")
        }
        method = m
        ratio = try get("ratio", NSNumber.self).doubleValue
        calibration = try int("calibration")
        batch = try int("batch")
        accumulate = try int("accumulate")
        steps = try int("steps")
        samplingSteps = try int("sampling_steps")
        cfgScale = try float("cfg_scale")
        learningRate = try float("lr")
        weightDecay = try float("weight_decay")
        regWeight = try float("reg_weight")
        initLogit = try float("init_logit")
        gate = HardConcrete(beta: try float("beta"), gamma: try float("gamma"), zeta: try float("zeta"),
                            eps: try float("mask_eps"))
        guard let s = UInt64(try get("seed", String.self)) else { throw TweedieError.badInput("\(source): bad 'seed'") }
        seed = s
        stepCheckpointing = try get("step_checkpointing", Bool.self)
        checkpointEvery = try int("checkpoint_every")
        logEvery = try int("log_every")
    }
}
