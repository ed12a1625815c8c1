import TweedieCore
import TweedieOperators

/// DPS, Diffusion Posterior Sampling (Chung et al., ICLR 2023), as its official code runs it: DDPM ancestral steps
/// in VP space (x̂0 clamped to [−1, 1] before the posterior mean, fixed-small variance, no noise on the last step),
/// each followed by x ← x − s ∇_{x_t} ‖y − A x̂0(x_t)‖ with the *unsquared* norm, the gradient taken through the
/// denoiser on a tape. The paper's ζ_i = ζ′ / ‖y − A x̂0‖ on ∇‖·‖² equals 2ζ′ ∇‖·‖, so the code's scale is s = 2ζ′
/// (0.3 for super-resolution and Gaussian/motion deblurring, 0.5 for random inpainting in its configs). Clamped
/// pixels pass no gradient, as in the code. One forward and one backward pass of the network per step.
public enum DiffusionPosteriorSampling {
    /// DPS's knobs.
    public struct Settings: Equatable, Sendable {
        /// s = 2ζ′.
        public var scale: Float
        /// Clamp x̂0 to [−1, 1] (the code's clip_denoised).
        public var clipDenoised: Bool = true

        /// Settings with step `scale` (s = 2ζ′).
        public init(scale: Float, clipDenoised: Bool = true) {
            self.scale = scale
            self.clipDenoised = clipDenoised
        }
    }

    /// Runs DPS from VP noise `x` (x_T ~ N(0, I), [N, ...], one item per measurement) over `timesteps` (descending
    /// training timesteps, e.g. all 1000; a subset is respaced DDPM) of a model trained with `alphasCumprod`.
    /// Ancestral noise of step i comes from `noise` with purpose `.step(i)`. Returns x0 (sigma = 0).
    public static func sample(model: ThrowingTapeDenoiser, operator op: LinearOperator, measurements: [Buffer],
                              x: Tensor, alphasCumprod: [Double], timesteps: [Int], settings: Settings,
                              noise: NoiseSource, onStep: StepCallback = ignoreSteps) throws -> Tensor {
        try DecomposedDiffusionSampler.checkShapes(op, measurements: measurements, x: x, method: "dps")
        guard !timesteps.isEmpty else { throw TweedieError.badInput("dps: no timesteps") }
        var xv = x
        for (i, t) in timesteps.enumerated() {
            let ab = alphasCumprod[t], abPrev = i + 1 < timesteps.count ? alphasCumprod[timesteps[i + 1]] : 1
            let beta = 1 - ab / abPrev
            let sigma = Float(((1 - ab) / ab).squareRoot())
            // x̂0(x_t) and the gradient of ‖y − A x̂0‖ with respect to x_t, through the network.
            let tape = Tape()
            let leaf = tape.leaf(xv, requiresGrad: true)
            let raw = try model(tape, tape.scale(leaf, Float(1 / ab.squareRoot())), sigma)
            var x0 = raw.value
            var pass = [Float](repeating: 1, count: x0.count)
            if settings.clipDenoised {
                for k in 0..<x0.count where abs(x0.data[k]) > 1 {
                    x0.data[k] = min(max(x0.data[k], -1), 1)
                    pass[k] = 0
                }
            }
            let seed = DecomposedDiffusionSampler.mapItems(x0, op) { item, b in
                let r = BufferMath.sub(measurements[item], op.apply(b))
                let norm = BufferMath.squaredNorm(r).squareRoot()
                // d‖y − A x‖/dx = −Aᴴ(y − A x) / ‖y − A x‖.
                return norm > 0 ? BufferMath.scaled(op.adjoint(r), Float(-1 / norm)) : op.zeroDomain()
            }
            var g0 = seed
            for k in 0..<g0.count { g0.data[k] *= pass[k] }
            tape.backward(seeds: [(raw, g0)])
            let grad = tape.gradient(leaf) ?? Tensor(shape: xv.shape)
            // DDPM posterior mean and fixed-small variance (β̃ = β (1 − ᾱ′) / (1 − ᾱ)).
            let c0 = abPrev.squareRoot() * beta / (1 - ab), ct = (1 - beta).squareRoot() * (1 - abPrev) / (1 - ab)
            let std = Float((beta * (1 - abPrev) / (1 - ab)).squareRoot())
            let z = t > 0 ? try noise.normal(shape: xv.shape, purpose: .step(i)) : nil
            let s = settings.scale
            var next = xv
            for k in 0..<next.count {
                var v = Float(c0) * x0.data[k] + Float(ct) * xv.data[k]
                if let z { v += std * z.data[k] }
                next.data[k] = v - s * grad.data[k]
            }
            xv = next
            let sigmaNext = Float(((1 - abPrev) / abPrev).squareRoot())
            let info = StepInfo(step: i, total: timesteps.count, sigma: sigma, sigmaNext: sigmaNext,
                                x: xv, denoised: x0)
            if onStep(info) == .stop { return x0 }
        }
        return xv
    }
}
