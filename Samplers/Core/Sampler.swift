import TweedieCore

/// What a sampler reports after each step (for progress display and cancellation).
public struct StepInfo {
    /// Index of the step just taken, 0-based.
    public let step: Int
    /// Number of steps in the run (`sigmas.count - 1`).
    public let total: Int
    /// Noise level the step started from.
    public let sigma: Float
    /// Noise level the step moved to.
    public let sigmaNext: Float
    /// The sample after the step (at `sigmaNext`).
    public let x: Tensor
    /// The model's clean estimate made during the step (at `sigma`).
    public let denoised: Tensor

    public init(step: Int, total: Int, sigma: Float, sigmaNext: Float, x: Tensor, denoised: Tensor) {
        self.step = step; self.total = total; self.sigma = sigma; self.sigmaNext = sigmaNext
        self.x = x; self.denoised = denoised
    }
}

/// The per-step callback's answer: keep going or stop early (e.g. on Ctrl-C).
public enum StepControl: Sendable {
    case `continue`
    case stop
}

/// Per-step callback.
public typealias StepCallback = (StepInfo) -> StepControl

/// A sampler integrates from `x` at `sigmas[0]` down the descending `sigmas` (usually ending in 0) and returns the
/// sample at `sigmas.last`. It calls `model` once or more per step, draws any fresh noise from `noise` with
/// purpose `.step(i)`, and calls `onStep` after every step. When `onStep` answers `.stop`, the sampler returns that
/// step's `denoised` estimate at once (the best picture available so far).
public typealias Sampler = (_ model: Denoiser, _ x: Tensor, _ sigmas: [Float], _ condition: Condition,
                            _ noise: NoiseSource, _ onStep: StepCallback) throws -> Tensor

/// A callback that never stops a run.
public let ignoreSteps: StepCallback = { _ in .continue }

/// Checks the common preconditions of every sampler: at least one step, descending non-negative sigmas.
/// `finalMayRepeat` lets the last step stay at its noise level: DDIMScheduler with set_alpha_to_one false and
/// timesteps ending at 0 takes a last step from sigma(t=0) to alphas_cumprod[0]'s sigma, the same level.
public func validateSigmas(_ sigmas: [Float], sampler: String, finalMayRepeat: Bool = false) throws {
    guard sigmas.count >= 2 else {
        throw TweedieError.badInput("sampler \(sampler): needs at least 2 sigmas (1 step), got \(sigmas.count)")
    }
    let n = sigmas.count
    for i in 0..<(n - 1) where !(sigmas[i] > sigmas[i + 1] || (finalMayRepeat && i == n - 2 && sigmas[i] == sigmas[i + 1]))
        || sigmas[i + 1] < 0 {
        throw TweedieError.badInput("sampler \(sampler): sigmas must be positive and strictly descending "
                                    + "(sigmas[\(i)] = \(sigmas[i]), sigmas[\(i + 1)] = \(sigmas[i + 1]))")
    }
}
