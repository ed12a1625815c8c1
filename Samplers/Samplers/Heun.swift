import TweedieCore

extension Samplers {
    /// Heun's second-order method (Karras et al. 2022, alg. 1 without churn): an Euler predictor to sigma', the
    /// slope there, and a step with the mean slope; the last step to sigma = 0 is plain Euler. Two model calls per
    /// step except the last.
    public static func heun(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition, noise: NoiseSource,
                            onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "heun")
        var x = x
        for i in 0..<(sigmas.count - 1) {
            let s = sigmas[i], sn = sigmas[i + 1]
            let denoised = try model.denoise(x, sigma: s, condition: condition)
            let d = derivative(x, denoised, sigma: s)
            let dt = sn - s
            if sn == 0 {
                x = lincomb(x, 1, d, dt)
            } else {
                let x2 = lincomb(x, 1, d, dt)
                let denoised2 = try model.denoise(x2, sigma: sn, condition: condition)
                let d2 = derivative(x2, denoised2, sigma: sn)
                x = lincomb(x, 1, d, dt / 2, d2, dt / 2)
            }
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }

    /// DPM-Solver-2 in k-diffusion's form (sample_dpm_2): Euler to the log-midpoint sigma_mid = sqrt(sigma sigma'),
    /// the slope there, then a full step with that slope; the last step to sigma = 0 is plain Euler.
    public static func dpm2(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition, noise: NoiseSource,
                            onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dpm2")
        var x = x
        for i in 0..<(sigmas.count - 1) {
            let s = sigmas[i], sn = sigmas[i + 1]
            let denoised = try model.denoise(x, sigma: s, condition: condition)
            let d = derivative(x, denoised, sigma: s)
            if sn == 0 {
                x = lincomb(x, 1, d, sn - s)
            } else {
                let mid = Float((Double(s) * Double(sn)).squareRoot())
                let x2 = lincomb(x, 1, d, mid - s)
                let denoised2 = try model.denoise(x2, sigma: mid, condition: condition)
                x = lincomb(x, 1, derivative(x2, denoised2, sigma: mid), sn - s)
            }
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }
}
