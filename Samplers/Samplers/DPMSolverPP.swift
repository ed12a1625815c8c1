import Foundation
import TweedieCore

extension Samplers {
    /// DPM-Solver++(2M) (Lu et al. 2022), k-diffusion's sample_dpmpp_2m: a multistep second-order update in
    /// lambda = -log sigma using the previous step's denoised value; first order on the first step and onto
    /// sigma = 0. Matches diffusers' DPMSolverMultistepScheduler (dpmsolver++, order 2, midpoint).
    public static func dpmpp2m(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                               noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dpmpp_2m")
        var x = x
        var old: Tensor?
        for i in 0..<(sigmas.count - 1) {
            let s = Double(sigmas[i]), sn = Double(sigmas[i + 1])
            let denoised = try model.denoise(x, sigma: sigmas[i], condition: condition)
            if sn == 0 {
                x = denoised
            } else {
                let h = log(s) - log(sn)
                let ratio = sn / s          // sigma_fn(t_next) / sigma_fn(t) = exp(-h)
                let c = -expm1(-h)          // weight of the denoised combination
                if let prev = old {
                    let hLast = log(Double(sigmas[i - 1])) - log(s)
                    let r = hLast / h
                    let a = 1 + 1 / (2 * r), b = -1 / (2 * r)
                    x = lincomb(x, Float(ratio), denoised, Float(c * a), prev, Float(c * b))
                } else {
                    x = lincomb(x, Float(ratio), denoised, Float(c))
                }
            }
            old = denoised
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }

    /// DPM-Solver++(2M) SDE (k-diffusion's sample_dpmpp_2m_sde, midpoint, eta = 1, s_noise = 1), with plain
    /// Gaussian noise per step from `noise` (purpose `.step(i)`) instead of k-diffusion's Brownian tree. Matches
    /// diffusers' DPMSolverMultistepScheduler with algorithm_type "sde-dpmsolver++".
    public static func dpmpp2mSDE(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                                  noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dpmpp_2m_sde")
        let eta = 1.0
        var x = x
        var old: Tensor?
        var hLast: Double?
        for i in 0..<(sigmas.count - 1) {
            let s = Double(sigmas[i]), sn = Double(sigmas[i + 1])
            let denoised = try model.denoise(x, sigma: sigmas[i], condition: condition)
            var h: Double?
            if sn == 0 {
                x = denoised
            } else {
                let hh = log(s) - log(sn)
                h = hh
                let etaH = eta * hh
                let cx = sn / s * exp(-etaH)
                let cd = -expm1(-hh - etaH)
                if let prev = old, let hl = hLast {
                    let r = hl / hh
                    let k = 0.5 * cd / r
                    x = lincomb(x, Float(cx), denoised, Float(cd + k), prev, Float(-k))
                } else {
                    x = lincomb(x, Float(cx), denoised, Float(cd))
                }
                let z = try noise.normal(shape: x.shape, purpose: .step(i))
                x = lincomb(x, 1, z, Float(sn * (-expm1(-2 * etaH)).squareRoot()))
            }
            old = denoised
            hLast = h
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }
}
