import TweedieCore
import TweedieImaging
import TweedieModels
import TweedieSamplers

/// Sample grids that show how training is going: a fixed seed, a fixed sampler, classifier-free guidance, the
/// EMA weights. For a class-conditional model column k holds class k (one row per image per class).
public enum SampleGrid {
    /// What to draw.
    public struct Settings {
        public var sampler: String
        public var steps: Int
        public var guidance: Float
        /// Images per class (rows), or the image count of an unconditional model is `perClass` squared.
        public var perClass: Int
        public var seed: UInt64

        public init(sampler: String = "ddim", steps: Int = 20, guidance: Float = 3, perClass: Int = 4,
                    seed: UInt64 = 1234) {
            self.sampler = sampler
            self.steps = steps
            self.guidance = guidance
            self.perClass = perClass
            self.seed = seed
        }
    }

    /// Samples from `model` (e.g. built over EMA weights) and tiles them. `classes` is the number of real classes
    /// (the null class is `classes`), nil for an unconditional model; learned-variance channels are dropped.
    public static func render(model: DiffusionModel, scheduler: SchedulerConfig, classes: Int?,
                              settings s: Settings) throws -> PNGImage {
        let count = classes.map { $0 * s.perClass } ?? s.perClass * s.perClass
        let labels = classes.map { c in (0..<count).map { $0 % c } }
        let learnedSigma = model.outChannels == 2 * model.inChannels
        let vp = VPDenoiser(config: scheduler, nullClass: classes, learnedSigma: learnedSigma, network: { x, t, l in
            try model.forward(x, timesteps: t, classLabels: l)
        })
        let schedule = try SamplingSchedule(config: scheduler, steps: s.steps, sampler: s.sampler)
        let noise = PhiloxNoise(seed: s.seed)
        let x = scale(try noise.normal(shape: [count] + model.sampleShape, purpose: .initial), schedule.initNoiseSigma)
        let denoiser: Denoiser = classes != nil && s.guidance != 1
            ? GuidedDenoiser(model: vp, guider: ClassifierFreeGuidance(scale: s.guidance), sigmas: schedule.sigmas)
            : vp
        let out = try SamplerRegistry.sampler(named: s.sampler)(denoiser, x, schedule.sigmas,
                                                              Condition(classLabels: labels), noise, ignoreSteps)
        let images = try PNGImage.images(from: out).images
        return try PNGImage.grid(images, columns: classes ?? s.perClass)
    }
}
