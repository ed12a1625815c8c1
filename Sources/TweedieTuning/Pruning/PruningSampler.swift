import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieSamplers

/// The deterministic trajectory a pruning run compares: `tweedie generate --sampler euler --steps S --cfg-scale w`
/// (k-diffusion's Euler, i.e. DDIM with η = 0 in sigma space) recorded on a tape, with the gates either sampled
/// from logits (one draw per trajectory, sampling step and group) or read from the model's stored gates (1 for the
/// unpruned model, hard 0/1 after ranking). Trajectory i starts from `generate --seed S --start-index i`'s noise.
public final class PruningSampler {
    /// The gates over the model.
    public let gates: PruningGates
    /// The Euler noise levels and the initial noise scale of the model's scheduler config.
    public let schedule: SamplingSchedule
    /// CFG scale w (diffusers' convention: u + w·(c − u); 1 runs the conditional pass alone).
    public let cfgScale: Float
    /// Seed of trajectory 0's noise (trajectory i uses seed + i).
    public let seed: UInt64
    private let vp: VPDenoiser
    private let nullClass: Int?
    private let stepOfSigma: [Float: Int]

    /// A sampler over `gates.model` trained with `scheduler`; `nullClass` is the id guidance feeds for "no class"
    /// (nil: no guidance possible).
    public init(gates: PruningGates, scheduler: SchedulerConfig, samplingSteps: Int, cfgScale: Float,
                nullClass: Int?, seed: UInt64) throws {
        let model = gates.model
        if abs(cfgScale - 1) > 1e-6 && (nullClass == nil || model.classConditioning.table == .none) {
            throw TweedieError.badInput("--cfg-scale \(cfgScale): the model has no null class for guidance "
                                        + "(use --cfg-scale 1)")
        }
        self.gates = gates
        self.cfgScale = cfgScale
        self.nullClass = nullClass
        self.seed = seed
        schedule = try SamplingSchedule(config: scheduler, steps: samplingSteps, sampler: "euler")
        var index: [Float: Int] = [:]
        for (i, s) in schedule.sigmas.dropLast().enumerated() where index[s] == nil { index[s] = i }
        guard index.count == samplingSteps else {
            throw TweedieError.badInput("--sampling-steps \(samplingSteps): the schedule repeats a noise level")
        }
        // The mask noise is keyed by the step, which the tape sampler's closure knows only by its sigma.
        stepOfSigma = index
        vp = VPDenoiser(config: scheduler, nullClass: nullClass,
                        learnedSigma: model.outChannels == 2 * model.inChannels) { _, _, _ in
            throw TweedieError.runtime("PruningSampler: the tape path is used, not this network")
        }
        // One real call checks shapes and labels up front, so the tape closures (which cannot throw) only see
        // inputs the network accepts.
        let labels: [Int]? = model.classConditioning.table == .none ? nil : [nullClass ?? 0]
        _ = try model.forward(Tensor(shape: [1] + model.sampleShape), timesteps: [500], classLabels: labels)
    }

    /// Sampling steps.
    public var steps: Int { schedule.sigmas.count - 1 }

    /// Unit Philox noise of trajectories `indices` (trajectory i from seed + i, as `generate`) times the schedule's
    /// initial sigma.
    public func initialNoise(_ indices: [Int]) throws -> Tensor {
        let shape = gates.model.sampleShape
        let per = shape.reduce(1, *)
        var data: [Float] = []
        data.reserveCapacity(indices.count * per)
        for i in indices {
            data += try PhiloxNoise(seed: seed, firstImage: i).normal(shape: [1] + shape, purpose: .initial).data
        }
        return TweedieCore.scale(Tensor(shape: [indices.count] + shape, data: data), schedule.initNoiseSigma)
    }

    /// D(x, σ) with CFG on `t` (both passes as one batch of 2N, conditional first, as `generate` runs them),
    /// reading the gates in `given` (or the stored ones).
    public func denoise(_ t: Tape, _ x: Variable, sigma: Float, labels: [Int]?, given: [String: Variable]) -> Variable {
        let w = cfgScale, n = x.shape[0]
        let guided = abs(w - 1) > 1e-6
        let batchLabels = guided ? labels.map { $0 + [Int](repeating: nullClass!, count: n) } : labels
        let net = gates.model, weights = net.weights
        let run = vp.tapeDenoiser { tape, scaled, timesteps in
            try net.forward(ForwardScope(tape: tape, weights: weights, given: given), sample: scaled,
                            timesteps: timesteps, classLabels: batchLabels)
        }
        // Shapes and labels were checked by the probe call in `init`.
        let d = try! run(t, guided ? t.concat([x, x], axis: 0) : x, sigma)
        guard guided else { return d }
        let parts = t.chunk(d, 2, axis: 0)
        return t.add(t.scale(parts[1], 1 - w), t.scale(parts[0], w))
    }

    /// The sampling step whose noise level is `sigma`.
    public func step(ofSigma sigma: Float) -> Int {
        guard let i = stepOfSigma[sigma] else { preconditionFailure("PruningSampler: sigma \(sigma) is not a step") }
        return i
    }

    /// The final sample of the whole trajectory from `x` on `tape`. With `logits` (tape variables, group order)
    /// every step samples its masks from trajectory `trajectory`'s noise; without, the stored gates act.
    /// `checkpointSteps` recomputes each step in the backward pass; the masks are re-derived from the same counters,
    /// so the recomputation is exactly the forward pass.
    public func sample(_ tape: Tape, x: Variable, labels: [Int]?, logits: [Variable]? = nil, trajectory: UInt64 = 0,
                       checkpointSteps: Bool = true, sigmas: [Float]? = nil) -> Variable {
        let gates = self.gates
        return TapeSampling.euler(tape, x: x, sigmas: sigmas ?? schedule.sigmas, inputs: logits ?? [],
                                  checkpointSteps: checkpointSteps) { [unowned self] t, xi, sigma, params in
            let given = logits == nil ? [:]
                : gates.sampledMasks(t, logits: params, trajectory: trajectory, step: self.step(ofSigma: sigma))
            return self.denoise(t, xi, sigma: sigma, labels: labels, given: given)
        }
    }

    /// The whole trajectory of the stored gates from `x`, without gradients: x_0 (the start), x_1, ..., x_S (the
    /// final sample), each step computed exactly as `sample` computes it.
    public func states(_ x: Tensor, labels: [Int]?) -> [Tensor] {
        var out = [x]
        for i in 0..<steps {
            let tape = Tape()
            out.append(sample(tape, x: tape.constant(out[i]), labels: labels, checkpointSteps: false,
                              sigmas: Array(schedule.sigmas[i...(i + 1)])).value)
        }
        return out
    }
}
