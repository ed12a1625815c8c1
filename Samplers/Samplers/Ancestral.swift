import TweedieCore

extension Samplers {
    /// Euler's method on the probability-flow ODE dx/dsigma = (x - D(x, sigma)) / sigma (Karras et al. 2022, alg. 1
    /// without churn). Identical to DDIM with eta = 0 on the same sigmas.
    public static func euler(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition, noise: NoiseSource,
                             onStep: StepCallback) throws -> Tensor {
        try ancestralLoop(name: "euler", eta: 0, model: model, x: x, sigmas: sigmas, condition: condition,
                          noise: noise, onStep: onStep)
    }

    /// Euler ancestral (k-diffusion's sample_euler_ancestral) with noise scale `eta`: an Euler step to sigma_down,
    /// then fresh noise of std sigma_up. eta = 1 is the DDPM posterior step.
    public static func ancestral(eta: Float) -> Sampler {
        { model, x, sigmas, condition, noise, onStep in
            try ancestralLoop(name: "euler_a", eta: Double(eta), model: model, x: x, sigmas: sigmas,
                              condition: condition, noise: noise, onStep: onStep)
        }
    }

    /// Euler ancestral with eta = 1 (diffusers' EulerAncestralDiscreteScheduler).
    public static func eulerAncestral(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                                      noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try ancestralLoop(name: "euler_a", eta: 1, model: model, x: x, sigmas: sigmas, condition: condition,
                          noise: noise, onStep: onStep)
    }

    /// DDIM (Song et al. 2021) written in sigma space. With abar = 1/(1 + sigma^2), diffusers' DDIMScheduler step
    /// x_prev = sqrt(abar')x0 + sqrt(1 - abar' - std^2) eps + std z, divided by sqrt(abar'), becomes
    /// x0 + sigma_down * eps + sigma_up * z with exactly the ancestral sigma_up of `eta`: so DDIM is the ancestral
    /// step on the DDIM timesteps' sigmas (`ScheduleFamily.ddim`), and DDIM(eta = 0) is Euler.
    public static func ddim(eta: Float) -> Sampler {
        { model, x, sigmas, condition, noise, onStep in
            try ancestralLoop(name: "ddim", eta: Double(eta), model: model, x: x, sigmas: sigmas,
                              condition: condition, noise: noise, onStep: onStep)
        }
    }

    /// DDPM (Ho et al. 2020, variance "fixed_small") in sigma space: diffusers' DDPMScheduler posterior mean
    /// (sigma'^2/sigma^2) x + (1 - sigma'^2/sigma^2) x0 plus noise of std sigma' sqrt(sigma^2 - sigma'^2)/sigma is
    /// exactly the ancestral step with eta = 1 (use it on `ScheduleFamily.ddpm` sigmas).
    public static func ddpm(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition, noise: NoiseSource,
                            onStep: StepCallback) throws -> Tensor {
        try ancestralLoop(name: "ddpm", eta: 1, model: model, x: x, sigmas: sigmas, condition: condition,
                          noise: noise, onStep: onStep)
    }

    static func ancestralLoop(name: String, eta: Double, model: Denoiser, x: Tensor, sigmas: [Float],
                              condition: Condition, noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        // An ancestral step to the same level leaves x as it is (sigma_down = sigma, sigma_up = 0), as diffusers' DDIM
        // step does when set_alpha_to_one is false and the last timestep is 0.
        try validateSigmas(sigmas, sampler: name, finalMayRepeat: true)
        var x = x
        for i in 0..<(sigmas.count - 1) {
            let s = Double(sigmas[i]), sn = Double(sigmas[i + 1])
            let denoised = try model.denoise(x, sigma: sigmas[i], condition: condition)
            if sn == 0 {
                x = denoised
            } else {
                let (down, up) = ancestralStep(s, sn, eta: eta)
                // x + (x - D)/sigma * (down - sigma), as one combination of x and D.
                let r = down / s
                x = lincomb(x, Float(r), denoised, Float(1 - r))
                if up > 0 {
                    let z = try noise.normal(shape: x.shape, purpose: .step(i))
                    x = lincomb(x, 1, z, Float(up))
                }
            }
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }
}
