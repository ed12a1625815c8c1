import Foundation
import TweedieCore
import TweedieModels
import TweedieSamplers

/// What one run produced.
public struct GenerationResult {
    /// Final samples in model space [N, C, h, w] (latents for a latent pipeline), diffusers' convention: VP space
    /// for DDPM/DDIM/DPM-Solver schedules, sigma space for the Euler family (identical when the last sigma is 0).
    public let samples: Tensor
    /// Decoded images [N, C, H, W] in [-1, 1] (nominally; not clamped).
    public let images: Tensor
    /// Seed of each image.
    public let seeds: [UInt64]
    /// Class id of each image (nil for an unconditional network).
    public let classes: [Int?]
    /// The noise levels the run used.
    public let sigmas: [Float]
    /// True when the step callback asked to stop: the samples are then the last clean estimate, not a finished run.
    public let stopped: Bool
}

/// The first element of `t` [N, ...] that is NaN or infinite: its image (batch index) and a word for it.
func firstNonFinite(_ t: Tensor) -> (image: Int, value: String)? {
    let index: Int? = t.withUnsafeBufferPointer { p in
        for i in 0..<p.count where !p[i].isFinite { return i }
        return nil
    }
    guard let i = index else { return nil }
    let per = max(1, t.count / max(1, t.shape.first ?? 1))
    let v = t.data[i]
    return (i / per, v.isNaN ? "NaN" : (v > 0 ? "+Inf" : "-Inf"))
}

/// Runs `GenerationSettings` on a `SamplingPipeline`: draws (or takes) the initial noise, builds the schedule,
/// guidance and sampler, samples the whole batch at once and decodes it.
public final class ImageGenerator {
    /// The model sampled from.
    public let pipeline: SamplingPipeline

    /// A generator over `pipeline`.
    public init(pipeline: SamplingPipeline) { self.pipeline = pipeline }

    /// The guidance a run uses when none is asked for: cfg when the network has a null class, else none.
    public var defaultGuidance: String {
        pipeline.classes.isConditional && pipeline.classes.nullClass != nil ? "cfg" : "none"
    }

    /// Checks the settings against the model (classes, guidance, steps); failures are `badInput` naming the flag.
    public func validate(_ s: GenerationSettings) throws {
        try s.validate()
        let classes = pipeline.classes
        if let c = s.classID {
            guard classes.isConditional else {
                throw TweedieError.badInput("--class \(c): \(pipeline.source.name) is an unconditional model")
            }
            guard classes.isValid(c) else {
                throw TweedieError.badInput("--class \(c) is out of range for \(pipeline.source.name) "
                                            + "(valid: \(classes.rangeDescription))")
            }
        }
        if s.guidance != "none" {
            guard classes.isConditional, classes.nullClass != nil else {
                throw TweedieError.badInput("--guidance \(s.guidance): \(pipeline.source.name) has no null class "
                                            + "(unconditional, or set null_class in its config); use --guidance none")
            }
        }
        _ = try schedule(s)
    }

    /// The noise levels of a run under these settings.
    public func schedule(_ s: GenerationSettings) throws -> SamplingSchedule {
        try SamplingSchedule(config: pipeline.scheduler, steps: s.steps, sampler: s.sampler, spacing: s.spacing)
    }

    /// The class of every image of the run (nil entries for an unconditional network).
    public func classes(_ s: GenerationSettings) -> [Int?] {
        guard pipeline.classes.isConditional else { return Array(repeating: nil, count: s.batchCount) }
        return (0..<s.batchCount).map { s.classID ?? pipeline.classes.defaultClass(forImage: s.startIndex + $0) }
    }

    /// The settings that decide the numerics, for error messages.
    func describe(_ s: GenerationSettings) -> String {
        var parts = ["sampler \(s.sampler)", "\(s.steps) steps", "schedule \(s.schedule)", "guidance \(s.guidance)"]
        if s.guidance != "none" { parts.append("cfg-scale \(s.cfgScale)") }
        if let e = s.eta { parts.append("eta \(e)") }
        parts.append("model \(pipeline.source.name)")
        return parts.joined(separator: ", ")
    }

    /// Shape of the run's batch in model space.
    public func batchShape(_ s: GenerationSettings) -> [Int] { [s.batchCount] + pipeline.sampleShape }

    /// Samples one batch. `initialNoise` ([batchCount, C, h, w] unit noise) replaces the rng's initial draw;
    /// `onStep` sees every step and may stop the run (the result is then marked `stopped`).
    public func run(_ s: GenerationSettings, initialNoise: Tensor? = nil,
                    onStep: StepCallback = ignoreSteps) throws -> GenerationResult {
        try validate(s)
        // The run's convolutions in its precision; the caller's setting comes back afterwards.
        let savedPrecision = ComputePrecision.current
        ComputePrecision.current = try s.precision.map(ComputePrecision.named) ?? .float32
        defer { ComputePrecision.current = savedPrecision }
        let shape = batchShape(s)
        let seeds = try (0..<s.batchCount).map { try s.seed(ofImage: $0) }
        let noise: NoiseSource = s.rng == "torch" ? PerImageTorchNoise(seeds: seeds)
            : PhiloxNoise(seed: s.seed, firstImage: s.startIndex)
        let sched = try schedule(s)
        let unit: Tensor
        if let given = initialNoise {
            guard given.shape == shape else {
                throw TweedieError.badInput("--latents: tensor sample has shape \(given.shape), the run needs \(shape)")
            }
            unit = given
        } else {
            // Given latents replace this draw, as in diffusers (torch generators then start with the step noise).
            unit = try noise.normal(shape: shape, purpose: .initial)
        }
        let x = scale(unit, sched.initNoiseSigma)
        if let bad = firstNonFinite(x) {
            throw TweedieError.runtime("initial noise (sigma \(sched.initNoiseSigma)) holds \(bad.value) in image "
                                       + "\(s.startIndex + bad.image); \(describe(s)); nothing written")
        }
        let classes = classes(s)
        let condition = pipeline.classes.isConditional ? Condition(classLabels: classes.map { $0! }) : .unconditional
        // clip_sample acts where diffusers' schedulers apply it: DDPM clamps x0 in its posterior (the denoiser's
        // clamp), DDIM clamps x0 but keeps the raw epsilon as direction (`ClippedDDIM`); Euler, Heun and
        // DPM-Solver schedulers have no such option, so their runs stay unclamped.
        let clippedDDIM = s.sampler == "ddim" && pipeline.scheduler.clipSample
        let vp = pipeline.denoiser(clip: s.sampler == "ddpm")
        let model: Denoiser = try s.makeGuider().map { GuidedDenoiser(model: vp, guider: $0, sigmas: sched.sigmas) } ?? vp
        let sampler = clippedDDIM ? ClippedDDIM.sampler(eta: s.eta ?? 0, clip: Float(pipeline.scheduler.clipSampleRange))
            : try s.makeSampler()
        var stopped = false
        var failure: TweedieError?
        let out = try sampler(model, x, sched.sigmas, condition, noise) { info in
            // A NaN or infinity is caught after the step that made it: the run stops and nothing is written.
            if let bad = firstNonFinite(info.x) {
                failure = .runtime("sampling produced \(bad.value) at step \(info.step + 1)/\(info.total) (sigma "
                                   + "\(info.sigma) -> \(info.sigmaNext)) in image \(s.startIndex + bad.image) (seed "
                                   + "\((try? s.seed(ofImage: bad.image)).map(String.init) ?? "?")); \(describe(s)); "
                                   + "nothing written")
                return .stop
            }
            let answer = onStep(info)
            if answer == .stop { stopped = true }
            return answer
        }
        let last = Double(sched.sigmas.last ?? 0)
        let family = try SamplerRegistry.family(of: s.sampler)
        let samples = family == .euler || last == 0 || stopped ? out : scale(out, Float(1 / (1 + last * last).squareRoot()))
        if let failure { throw failure }
        let images = try pipeline.decode(samples)
        if !stopped, let bad = firstNonFinite(images) {
            throw TweedieError.runtime("decoding the samples produced \(bad.value) in image \(s.startIndex + bad.image); "
                                       + "\(describe(s)); nothing written")
        }
        return GenerationResult(samples: samples, images: images, seeds: seeds, classes: classes,
                                sigmas: sched.sigmas, stopped: stopped)
    }
}
