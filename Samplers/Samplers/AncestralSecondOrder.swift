import Foundation
import TweedieCore

extension Samplers {
    /// DPM-Solver-2 ancestral (k-diffusion's sample_dpm_2_ancestral, ComfyUI's dpm_2_ancestral), eta = 1,
    /// s_noise = 1: each step splits sigma_{i+1} into the deterministic target sigma_down and fresh noise sigma_up
    /// (`ancestralStep`), takes `dpm2`'s step to sigma_down (Euler to the log-midpoint sqrt(sigma sigma_down), the
    /// slope there, the full step with that slope), then adds sigma_up * z, z from `noise` (purpose `.step(i)`).
    /// The last step (sigma_down = 0) is plain Euler without noise. Two model calls per step except the last.
    public static func dpm2Ancestral(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                                     noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try dpm2AncestralLoop(eta: 1, sNoise: 1, model: model, x: x, sigmas: sigmas, condition: condition,
                              noise: noise, onStep: onStep)
    }

    /// `dpm2Ancestral` with noise scale `eta` and noise multiplier `sNoise` (k-diffusion's eta and s_noise).
    public static func dpm2Ancestral(eta: Float, sNoise: Float = 1) -> Sampler {
        { model, x, sigmas, condition, noise, onStep in
            try dpm2AncestralLoop(eta: Double(eta), sNoise: Double(sNoise), model: model, x: x, sigmas: sigmas,
                                  condition: condition, noise: noise, onStep: onStep)
        }
    }

    static func dpm2AncestralLoop(eta: Double, sNoise: Double, model: Denoiser, x: Tensor, sigmas: [Float],
                                  condition: Condition, noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dpm2_a")
        var x = x
        for i in 0..<(sigmas.count - 1) {
            let s = Double(sigmas[i])
            let denoised = try model.denoise(x, sigma: sigmas[i], condition: condition)
            let (down, up) = ancestralStep(s, Double(sigmas[i + 1]), eta: eta)
            let d = derivative(x, denoised, sigma: sigmas[i])
            if down == 0 {
                x = lincomb(x, 1, d, Float(down - s))
            } else {
                // sigma_mid = exp(lerp(log sigma, log sigma_down, 1/2)).
                let mid = (s * down).squareRoot()
                let x2 = lincomb(x, 1, d, Float(mid - s))
                let denoised2 = try model.denoise(x2, sigma: Float(mid), condition: condition)
                // x + d2 (sigma_down - sigma) with d2 = (x2 - D2) / sigma_mid.
                let c = (down - s) / mid
                x = lincomb(x, 1, x2, Float(c), denoised2, Float(-c))
                if up > 0 {
                    let z = try noise.normal(shape: x.shape, purpose: .step(i))
                    x = lincomb(x, 1, z, Float(up * sNoise))
                }
            }
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }

    /// DPM-Solver++(2S) ancestral (k-diffusion's sample_dpmpp_2s_ancestral; sd.cpp's dpm++2s_a, ComfyUI's
    /// dpmpp_2s_ancestral), eta = 1, s_noise = 1. In lambda = -log sigma, with h = lambda(sigma_down) -
    /// lambda(sigma) and the midpoint sigma_s = sigma e^{-h/2}: x2 = (sigma_s / sigma) x - expm1(-h/2) D(x, sigma),
    /// then x' = (sigma_down / sigma) x - expm1(-h) D(x2, sigma_s) (the single-step second-order DPM-Solver++ update
    /// in data prediction), plus sigma_up * z from `noise` (purpose `.step(i)`). The last step is plain Euler.
    /// Two model calls per step except the last.
    public static func dpmpp2SAncestral(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                                        noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try dpmpp2SAncestralLoop(eta: 1, sNoise: 1, model: model, x: x, sigmas: sigmas, condition: condition,
                                 noise: noise, onStep: onStep)
    }

    /// `dpmpp2SAncestral` with noise scale `eta` and noise multiplier `sNoise`.
    public static func dpmpp2SAncestral(eta: Float, sNoise: Float = 1) -> Sampler {
        { model, x, sigmas, condition, noise, onStep in
            try dpmpp2SAncestralLoop(eta: Double(eta), sNoise: Double(sNoise), model: model, x: x, sigmas: sigmas,
                                     condition: condition, noise: noise, onStep: onStep)
        }
    }

    static func dpmpp2SAncestralLoop(eta: Double, sNoise: Double, model: Denoiser, x: Tensor, sigmas: [Float],
                                     condition: Condition, noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dpmpp_2s_a")
        var x = x
        for i in 0..<(sigmas.count - 1) {
            let s = Double(sigmas[i])
            let denoised = try model.denoise(x, sigma: sigmas[i], condition: condition)
            let (down, up) = ancestralStep(s, Double(sigmas[i + 1]), eta: eta)
            if down == 0 {
                x = lincomb(x, 1, derivative(x, denoised, sigma: sigmas[i]), Float(down - s))
            } else {
                let h = log(s) - log(down)
                let sMid = s * exp(-h / 2)
                let x2 = lincomb(x, Float(sMid / s), denoised, Float(-expm1(-h / 2)))
                let denoised2 = try model.denoise(x2, sigma: Float(sMid), condition: condition)
                x = lincomb(x, Float(down / s), denoised2, Float(-expm1(-h)))
            }
            if sigmas[i + 1] > 0, up > 0 {
                let z = try noise.normal(shape: x.shape, purpose: .step(i))
                x = lincomb(x, 1, z, Float(up * sNoise))
            }
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }
}
