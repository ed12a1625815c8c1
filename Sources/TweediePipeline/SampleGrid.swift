import TweedieCore
import TweedieImaging
import TweedieModels
import TweedieSamplers

/// A grid of samples at a fixed seed, one column per class: how the trainer shows its progress (through
/// `import Tweedie`, where it is the trainer's `SampleGridRenderer`). For a class-conditional model column k holds
/// class k, one row per image per class, under classifier-free guidance.
public struct SampleGrid {
    public init() {}

    /// Fails on a sampler the registry does not know, naming it and the valid ones.
    public func validate(sampler: String) throws { _ = try SamplerRegistry.sampler(named: sampler) }

    /// Samples from `model` (e.g. built over EMA weights) and tiles them. `classes` is the number of real classes
    /// (the null class is `classes`), nil for an unconditional model; learned-variance channels are dropped.
    /// `decode` turns the samples into images first (a latent model's autoencoder).
    public func render(model: DiffusionModel, scheduler: SchedulerConfig, classes: Int?, sampler: String,
                       steps: Int, guidance: Float, perClass: Int, seed: UInt64,
                       decode: ((Tensor) throws -> Tensor)? = nil) throws -> PNGImage {
        let count = classes.map { $0 * perClass } ?? perClass * perClass
        let labels = classes.map { c in (0..<count).map { $0 % c } }
        let learnedSigma = model.outChannels == 2 * model.inChannels
        let vp = VPDenoiser(config: scheduler, nullClass: classes, learnedSigma: learnedSigma, network: { x, t, l in
            try model.forward(x, timesteps: t, classLabels: l)
        })
        let schedule = try SamplingSchedule(config: scheduler, steps: steps, sampler: sampler)
        let noise = PhiloxNoise(seed: seed)
        let x = scale(try noise.normal(shape: [count] + model.sampleShape, purpose: .initial), schedule.initNoiseSigma)
        let denoiser: Denoiser = classes != nil && guidance != 1
            ? GuidedDenoiser(model: vp, guider: ClassifierFreeGuidance(scale: guidance), sigmas: schedule.sigmas)
            : vp
        let out = try SamplerRegistry.sampler(named: sampler)(denoiser, x, schedule.sigmas,
                                                              Condition(classLabels: labels), noise, ignoreSteps)
        let images = try PNGImage.images(from: try decode?(out) ?? out).images
        return try PNGImage.grid(images, columns: classes ?? perClass)
    }
}
