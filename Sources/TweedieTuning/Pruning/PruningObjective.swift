import TweedieCore
import TweedieModels

/// EcoDiff's loss as a `TuningObjective`: for the micro-batch's calibration pairs, the masked model's final sample
/// after the whole deterministic trajectory against the unpruned model's (mean squared error), plus α times the
/// sparsity term; the gradient reaches the logits through every sampling step. With the one-step loss (the local
/// baseline) the masked denoiser is instead compared with the unpruned one at a single random step of the unpruned
/// trajectory. Mask noise is keyed by (update, micro-batch) — the trajectory — then by step and group, so the
/// objective is a function of its arguments alone (resume is exact) and a recomputed step uses its forward's masks.
public final class PruningObjective: TuningObjective {
    public let sampler: PruningSampler
    public let calibration: CalibrationSet
    public let regularizer: PruningRegularizer
    public let settings: PruningSettings
    /// "mse" (the reconstruction term) and "expected_kept" (the regulariser: expected share of prunable parameters
    /// a sampled mask keeps).
    public let metricNames = ["mse", "expected_kept"]

    /// An objective over `sampler`'s gates for the pairs of `calibration`.
    public init(sampler: PruningSampler, calibration: CalibrationSet, settings: PruningSettings) {
        self.sampler = sampler
        self.calibration = calibration
        self.settings = settings
        regularizer = PruningRegularizer(gate: sampler.gates.gate, counts: sampler.gates.groups.map(\.count),
                                         parametersPerUnit: sampler.gates.parametersPerUnit)
    }

    /// The calibration pairs of micro-batch `microBatch` of update `step` (the set cycled in order).
    public func pairs(step: Int, microBatch: Int) -> [Int] {
        let first = (step * settings.accumulate + microBatch) * settings.batch
        return (first..<(first + settings.batch)).map { $0 % calibration.count }
    }

    /// The key of the trajectory of micro-batch `microBatch` of update `step`: its masks' noise stream.
    public func trajectoryKey(step: Int, microBatch: Int) -> UInt64 {
        SplitMix64.mix(settings.seed ^ SplitMix64.mix((UInt64(step) << 16) ^ UInt64(microBatch) ^ 0x6D61_736B))
    }

    public func evaluate(_ parameters: TuningParameters, step: Int, microBatch: Int) throws -> TuningEvaluation {
        let pairs = pairs(step: step, microBatch: microBatch)
        let key = trajectoryKey(step: step, microBatch: microBatch)
        let labels = calibration.labels(pairs)
        let tape = Tape()
        let logits = parameters.values.map { tape.leaf($0, requiresGrad: true) }
        let mse: Variable
        switch settings.method {
        case .oneStep:
            // One step k of the unpruned trajectory, drawn from the same key; the target is the unpruned denoiser.
            let k = min(sampler.steps - 1, Int(CounterRandom.uniform(seed: key, index: 0) * Float(sampler.steps)))
            let x = calibration.state(pairs, step: k), sigma = sampler.schedule.sigmas[k]
            let plain = Tape()
            let target = sampler.denoise(plain, plain.constant(x), sigma: sigma, labels: labels, given: [:]).value
            let masks = sampler.gates.sampledMasks(tape, logits: logits, trajectory: key, step: k)
            mse = tape.mseLoss(sampler.denoise(tape, tape.constant(x), sigma: sigma, labels: labels, given: masks),
                               tape.constant(target))
        default:
            let x = try sampler.initialNoise(pairs)
            let final = sampler.sample(tape, x: tape.constant(x), labels: labels, logits: logits, trajectory: key,
                                       checkpointSteps: settings.stepCheckpointing)
            mse = tape.mseLoss(final, tape.constant(CalibrationSet.rows(calibration.finals, pairs)))
        }
        var grads = tape.gradients(of: mse, wrt: logits)
        let reg = regularizer.value(parameters.values)
        let alpha = settings.regWeight
        for (i, g) in regularizer.gradient(parameters.values).enumerated() {
            grads[i] = Tensor(shape: g.shape, data: zip(grads[i].data, g.data).map { $0 + alpha * $1 })
        }
        let m = Double(mse.value.data[0])
        return TuningEvaluation(loss: m + Double(alpha) * reg, gradients: grads,
                                metrics: ["mse": m, "expected_kept": reg])
    }
}
