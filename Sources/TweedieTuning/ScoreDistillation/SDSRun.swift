import TweedieCore
import TweedieTraining

/// The optimisation of `tweedie sds`: Adam (AdamW without decay) on the image or texture with the settings'
/// warm-up + cosine schedule, one `ScoreDistillation` gradient per step, the parameters projected back into
/// [0, 1] (the range a PNG holds, and what the encoder's 2I − 1 expects) after each step. A run lasts seconds to
/// minutes and its output is an image, so it keeps no checkpoints (TuningLoop is for resumable runs).
public final class SDSRun {
    /// The gradient.
    public let sds: ScoreDistillation
    /// Current parameters (image or texture, in [0, 1]).
    public private(set) var parameters: Tensor
    /// Steps taken.
    public private(set) var step = 0
    private let adam: AdamW

    /// Figures of one step, for progress lines and the bench.
    public struct Update {
        public let step: Int
        public let timestep: Int
        public let learningRate: Float
        /// L2 norms of the latent gradient and of ∂L/∂pixels before and after the clip.
        public let latentNorm: Float, pixelNorm: Float, clippedNorm: Float
        /// Share of pixels (elements for clamp, images for global) the clip changed.
        public let clippedFraction: Double
    }

    /// A run from `initial` (shaped `sds.parameterShape`; nil: `sds.initialParameters()`).
    public init(_ sds: ScoreDistillation, initial: Tensor? = nil) throws {
        self.sds = sds
        let start = try initial ?? sds.initialParameters()
        guard start.shape == sds.parameterShape else {
            throw TweedieError.badInput("sds: start \(start.shape), expected \(sds.parameterShape)")
        }
        parameters = start
        adam = AdamW(parameters: [start], learningRate: sds.settings.learningRate, weightDecay: 0)
    }

    /// The image the current parameters show, [1, C, H, W] in [0, 1].
    public var image: Tensor { sds.image(parameters) }

    /// Takes one step and reports it.
    @discardableResult
    public func advance() throws -> Update {
        let s = try sds.gradient(parameters, step: step)
        adam.learningRate = sds.settings.rate(at: step)
        var p = [parameters]
        adam.update(&p, gradients: [s.parameterGradient])
        parameters = p[0]
        parameters.withUnsafeMutableBufferPointer { q in for i in 0..<q.count { q[i] = min(1, max(0, q[i])) } }
        step += 1
        return Update(step: step, timestep: s.draw.timestep, learningRate: adam.learningRate,
                      latentNorm: Self.norm(s.latentGradient), pixelNorm: Self.norm(s.pixelGradient),
                      clippedNorm: Self.norm(s.clippedPixelGradient), clippedFraction: s.clip.clippedFraction)
    }

    /// Steps until `settings.steps`, calling `onUpdate` after each.
    public func run(onUpdate: (Update) throws -> Void = { _ in }) throws {
        while step < sds.settings.steps { try onUpdate(try advance()) }
    }

    static func norm(_ t: Tensor) -> Float {
        Float(t.data.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
    }
}
