import TweedieCore
import TweedieTraining

/// Everything that defines a score-distillation run (`tweedie sds`), with PGC-3D's 2d.py choices as defaults where
/// they carry over: Adam with a cosine schedule after a linear warm-up, c = 0.1, t ~ U[0.02, 0.98]·T from a random
/// start and U[0.02, 0.5]·T from an init image.
public struct SDSSettings: Equatable, Sendable {
    /// What the optimiser moves: the image itself, or a texture seen through `AffineTextureRender`.
    public enum Render: String, CaseIterable, Sendable { case image, texture }

    /// The class the image is distilled toward.
    public var classID: Int = 0
    /// CFG scale w of ε̂ = ε_u + w(ε_c − ε_u) (PGC-3D's guidance_scale s is w − 1: its default 100 is w = 101).
    public var cfgScale: Float = 100
    /// Optimiser steps.
    public var steps: Int = 200
    /// Peak Adam learning rate, in pixel units of [0, 1].
    public var learningRate: Float = 0.01
    /// Linear warm-up steps before the cosine decay to 0 at `steps`.
    public var warmupSteps: Int = 10
    /// Seed of the start image, the timesteps and every noise draw.
    public var seed: UInt64 = 0
    /// What happens to ∂L/∂pixels.
    public var clip: PixelGradientClip = .pixel
    /// Threshold c of the clip (see `PixelGradientClip`).
    public var clipValue: Float = 0.1
    /// Image or texture.
    public var render: Render = .image
    /// Side of the texture with `render == .texture`.
    public var textureSize: Int = 64
    /// Whether the run starts from a given image (it then draws t from the lower range).
    public var fromInitImage = false

    /// Settings with the defaults above.
    public init() {}

    /// Training timesteps t are drawn uniformly from round(lo·T)...round(hi·T) (PGC-3D: int(T·lo) to int(T·hi),
    /// upper bound included).
    public var timeRange: (lo: Double, hi: Double) { fromInitImage ? (0.02, 0.5) : (0.02, 0.98) }

    /// The Adam step size of (0-based) step k.
    public func rate(at step: Int) -> Float {
        LearningRateSchedule(base: learningRate, warmupSteps: warmupSteps, totalSteps: steps).rate(at: step)
    }

    /// Fails with `badInput` naming the flag of the first value out of range.
    public func validate() throws {
        guard steps >= 1 && steps <= 1_000_000 else {
            throw TweedieError.badInput("--steps: must be in 1...1000000, got \(steps)")
        }
        guard learningRate > 0 && learningRate.isFinite else {
            throw TweedieError.badInput("--lr: must be a positive number, got \(learningRate)")
        }
        guard warmupSteps >= 0 else { throw TweedieError.badInput("--warmup: must be at least 0, got \(warmupSteps)") }
        guard cfgScale.isFinite && cfgScale >= 0 && cfgScale <= 1000 else {
            throw TweedieError.badInput("--cfg-scale must be a number in [0, 1000], got \(cfgScale)")
        }
        guard clipValue > 0 && clipValue.isFinite else {
            throw TweedieError.badInput("--clip-value: the threshold c must be a positive number, got \(clipValue)")
        }
        guard (2...1024).contains(textureSize) else {
            throw TweedieError.badInput("--texture-size: must be in 2...1024, got \(textureSize)")
        }
    }
}
