import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieSamplers

/// Reward backpropagation (AlignProp, Prabhudesai et al. 2023) as a `TuningObjective`: a micro-batch samples
/// `batch` trajectories with deterministic DDIM and classifier-free guidance on a tape, from the same initial noise
/// and classes as `tweedie generate --sampler ddim --seed S --start-index i` (trajectory i of the run, counted over
/// updates and micro-batches), scores the final images with the reward and returns minus its mean and the gradient
/// into the LoRA factors, back through the steps the truncation keeps. The model's own weights stay constants.
public final class AlignPropObjective: TuningObjective {
    /// The denoising network; its weights table holds the LoRA providers (see `LoRATargets.attach`).
    public let model: DiffusionModel
    public let reward: DifferentiableReward
    public let settings: AlignPropSettings
    /// The DDIM noise levels and the initial noise scale (diffusers' DDIMScheduler layout of the model's config).
    public let schedule: SamplingSchedule
    public let metricNames = ["reward"]
    private let vp: VPDenoiser
    private let nullClass: Int?
    private let classOf: (Int) -> Int?
    private let clip: Float?
    private let lastSigma: Double

    /// An objective over `model` (pixel-space: the reward reads its samples) trained with `scheduler`. `nullClass`
    /// is the id guidance feeds for "no class" (nil: no guidance possible), `classOf(i)` the class of trajectory i
    /// when `settings.classID` is nil (nil for an unconditional network).
    public init(model: DiffusionModel, scheduler: SchedulerConfig, reward: DifferentiableReward,
                settings: AlignPropSettings, nullClass: Int?, classOf: @escaping (Int) -> Int?) throws {
        try settings.validate()
        try reward.check(sampleShape: model.sampleShape)
        if abs(settings.cfgScale - 1) > 1e-6 && nullClass == nil {
            throw TweedieError.badInput("--cfg-scale \(settings.cfgScale): the model has no null class for guidance "
                                        + "(use --cfg-scale 1)")
        }
        self.model = model
        self.reward = reward
        self.settings = settings
        self.nullClass = nullClass
        self.classOf = classOf
        schedule = try SamplingSchedule(config: scheduler, steps: settings.samplingSteps, sampler: "ddim")
        lastSigma = Double(schedule.sigmas.last ?? 0)
        // As `generate --sampler ddim`: clip_sample clamps the clean estimate, the direction keeps the raw one.
        clip = scheduler.clipSample ? Float(scheduler.clipSampleRange) : nil
        vp = VPDenoiser(config: scheduler, nullClass: nullClass,
                        learnedSigma: model.outChannels == 2 * model.inChannels) { _, _, _ in
            throw TweedieError.runtime("AlignPropObjective: the tape path is used, not this network")
        }
        // One real call checks shapes and labels up front, so the tape closures below (which cannot throw) only
        // see inputs the network accepts.
        let probe = Tensor(shape: [1] + model.sampleShape)
        _ = try model.forward(probe, timesteps: [500], classLabels: try labels(first: 0, count: 1))
    }

    /// The class labels the network reads for trajectories first..<first + count (nil: unconditional network).
    public func labels(first: Int, count: Int) throws -> [Int]? {
        guard model.classConditioning.table != .none else { return nil }
        return try (first..<(first + count)).map { i in
            guard let c = settings.classID ?? classOf(i) else {
                throw TweedieError.badInput("finetune: no class for trajectory \(i) of a class-conditional model")
            }
            return c
        }
    }

    /// The initial points of trajectories first..<first + count: unit Philox noise (image i from seed + i, as
    /// `generate`) times the schedule's initial sigma.
    public func initialNoise(first: Int, count: Int) throws -> Tensor {
        let unit = try PhiloxNoise(seed: settings.seed, firstImage: first)
            .normal(shape: [count] + model.sampleShape, purpose: .initial)
        return TweedieCore.scale(unit, schedule.initNoiseSigma)
    }

    /// The final samples of trajectories first..<first + count on `tape`, with `factors` (tape variables for the
    /// LoRA parameters `names`, in order) and the given gradient steps.
    public func sample(_ tape: Tape, names: [String], factors: [Variable], first: Int, count: Int,
                       gradientSteps: [Bool]?) throws -> Variable {
        let x = tape.constant(try initialNoise(first: first, count: count))
        let out = try sample(tape, names: names, factors: factors, x: x, sigmas: schedule.sigmas,
                             labels: labels(first: first, count: count), gradientSteps: gradientSteps)
        // DDIM without set_alpha_to_one ends at sigma(t = 0) > 0: the sample is then read in VP space.
        return lastSigma == 0 ? out : tape.scale(out, Float(1 / (1 + lastSigma * lastSigma).squareRoot()))
    }

    /// Guided DDIM on `tape` from `x` (sigma space) down `sigmas` for class `labels` (nil: an unconditional
    /// network): the chain `sample(first:count:)` runs, from any point and over any part of the schedule.
    public func sample(_ tape: Tape, names: [String], factors: [Variable], x: Variable, sigmas: [Float],
                       labels: [Int]?, gradientSteps: [Bool]?) throws -> Variable {
        guard (labels == nil) == (model.classConditioning.table == .none), labels.map({ $0.count == x.shape[0] }) ?? true
        else {
            throw TweedieError.badInput("finetune: \(labels?.count ?? 0) class labels for a batch of \(x.shape[0])")
        }
        return TapeSampling.ddim(tape, x: x, sigmas: sigmas, inputs: factors, clip: clip,
                                 checkpointSteps: settings.gradientCheckpointing, gradientSteps: gradientSteps) {
            [unowned self] t, xi, sigma, params in
            self.guided(t, xi, sigma: sigma, given: Dictionary(uniqueKeysWithValues: zip(names, params)), labels: labels)
        }
    }

    /// D(x, σ) with CFG u + w(c − u) on the tape; both passes run as one batch of 2N (conditional first), as
    /// `generate` does.
    private func guided(_ t: Tape, _ x: Variable, sigma: Float, given: [String: Variable], labels: [Int]?) -> Variable {
        let w = settings.cfgScale, n = x.shape[0]
        let guidedRun = abs(w - 1) > 1e-6
        let batchLabels = guidedRun ? labels.map { $0 + [Int](repeating: nullClass!, count: n) } : labels
        let net = model, weights = model.weights
        let denoise = vp.tapeDenoiser { tape, scaled, timesteps in
            try net.forward(ForwardScope(tape: tape, weights: weights, given: given), sample: scaled,
                            timesteps: timesteps, classLabels: batchLabels)
        }
        let input = guidedRun ? t.concat([x, x], axis: 0) : x
        // The shapes and labels were checked by the probe call in `init`.
        let d = try! denoise(t, input, sigma)
        guard guidedRun else { return d }
        let parts = t.chunk(d, 2, axis: 0)
        return t.add(t.scale(parts[1], 1 - w), t.scale(parts[0], w))
    }

    public func evaluate(_ parameters: TuningParameters, step: Int, microBatch: Int) throws -> TuningEvaluation {
        let first = (step * settings.accumulate + microBatch) * settings.batch
        let mask = settings.truncation.mask(steps: settings.samplingSteps, seed: settings.seed, trajectory: first)
        let tape = Tape()
        let leaves = parameters.values.map { tape.leaf($0, requiresGrad: true) }
        let images = try sample(tape, names: parameters.names, factors: leaves, first: first, count: settings.batch,
                                gradientSteps: mask)
        let r = try reward.reward(images)
        let grads = tape.gradients(of: tape.scale(r, -1), wrt: leaves)
        let value = Double(r.value.data[0])
        return TuningEvaluation(loss: -value, gradients: grads, metrics: ["reward": value])
    }
}
