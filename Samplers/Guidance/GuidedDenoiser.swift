import TweedieCore

/// A denoiser that applies a guider: when the step needs both predictions it evaluates the conditional and
/// unconditional batches as one batch of 2N through `model` (conditional first, then N null labels), splits them
/// and lets the guider combine them. The step index comes from the run's `sigmas`: a call at sigma belongs to
/// the last step i with sigmas[i] >= sigma (so Heun's corrector at sigmas[i + 1] counts as step i + 1). A call at
/// an earlier step than the previous one starts a new run and resets the guider.
public final class GuidedDenoiser: Denoiser {
    /// The underlying (unguided) denoiser.
    public let model: Denoiser
    /// The guidance rule.
    public let guider: Guider
    /// The sigmas of the run, descending.
    public let sigmas: [Float]
    private var lastStep = Int.max

    /// Guides `model` with `guider` over a run on `sigmas`.
    public init(model: Denoiser, guider: Guider, sigmas: [Float]) {
        self.model = model
        self.guider = guider
        self.sigmas = sigmas
    }

    /// Forgets the run in progress (the next call resets the guider).
    public func reset() { lastStep = Int.max }

    /// The step a call at `sigma` belongs to.
    public func step(forSigma sigma: Float) -> Int {
        let total = max(1, sigmas.count - 1)
        var step = 0
        for i in 0..<total where sigmas[i] >= sigma * (1 - 1e-6) { step = i }
        return step
    }

    public func denoise(_ x: Tensor, sigma: Float, condition: Condition) throws -> Tensor {
        let step = step(forSigma: sigma), total = max(1, sigmas.count - 1)
        if step < lastStep { guider.reset() }
        lastStep = step
        guard guider.needsUnconditional(step: step, total: total) else {
            return try model.denoise(x, sigma: sigma, condition: condition)
        }
        let n = x.shape[0]
        let both = try model.denoise(stackBatch(x, x), sigma: sigma,
                                     condition: condition.concatenated(with: .null(count: n), counts: (n, n)))
        let (c, u) = splitBatch(both, first: n)
        return guider.combine(conditional: c, unconditional: u, step: step, total: total)
    }
}
