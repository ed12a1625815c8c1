import TweedieCore
import TweedieImaging
import TweedieModels
import TweedieNoise

/// What the trainer's sample grids draw: the recipe's `sampler`, `sample_steps`, `guidance`, `samples_per_class`.
public struct SampleGridSettings: Equatable, Sendable {
    public var sampler: String
    public var steps: Int
    public var guidance: Float
    /// Images per class (rows); an unconditional model draws `perClass` squared.
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

/// Draws the EMA sample grid the trainer writes every `sample_every` steps. The pipeline's `SampleGrid` is one
/// (through `import Tweedie`); the trainer takes it as a parameter so that training does not depend on the samplers.
public protocol SampleGridRenderer {
    /// Fails before the first step on settings it cannot draw (an unknown sampler), naming the recipe field.
    func validate(_ settings: SampleGridSettings) throws
    /// Samples from `model` and tiles them; `classes` real classes (the null class is `classes`), nil unconditional.
    /// `decode` maps the samples to images first (a latent model's autoencoder).
    func render(model: DiffusionModel, scheduler: SchedulerConfig, classes: Int?, settings: SampleGridSettings,
                decode: ((Tensor) throws -> Tensor)?) throws -> PNGImage
}
