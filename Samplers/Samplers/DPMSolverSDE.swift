import Foundation
import TweedieCore

extension Samplers {
    /// DPM-Solver++ SDE (k-diffusion's sample_dpmpp_sde, eta = 1, s_noise = 1, r = 1/2): per step a stochastic
    /// two-stage DPM-Solver++ update in lambda = -log sigma. With h = lambda(sigma') - lambda(sigma) and the
    /// intermediate sigma_s = sigma e^{-r h}: stage 1 is an ancestral first-order step to sigma_s (deterministic to
    /// sigma_d = sigma_down(sigma -> sigma_s), x2 = (sigma_d / sigma) x - expm1(log(sigma_d / sigma)) D, plus
    /// sigma_up n1); stage 2 is an ancestral step from x to sigma' with D' = (1 - 1/(2r)) D + 1/(2r) D(x2, sigma_s),
    /// plus sigma_up' n2. The last step (to sigma = 0) is plain Euler. Two model calls per step except the last.
    ///
    /// Noise. k-diffusion draws n1 and n2 by default from a Brownian tree over sigma (torchsde's BrownianTree, seeded
    /// per run): n1 = (W(sigma_s) - W(sigma)) / sqrt(sigma - sigma_s) and n2 = (W(sigma') - W(sigma)) /
    /// sqrt(sigma - sigma'), increments of one Brownian path over nested intervals, so n1 and n2 are correlated.
    /// Tweedie draws per step one tensor [N, 2, ...] from `noise` (purpose `.step(i)`; one keyed stream per image
    /// under Philox) holding two independent unit normals z1, z2 per element, and builds the same increments:
    /// n1 = z1, n2 = (sqrt(sigma - sigma_s) z1 + sqrt(sigma_s - sigma') z2) / sqrt(sigma - sigma'). That is exactly
    /// the joint law of k-diffusion's default (steps cover disjoint intervals, so steps stay independent), but not
    /// its values: the same seed does not give k-diffusion's or ComfyUI's image. Handed the same n1, n2 through its
    /// `noise_sampler` argument, k-diffusion reproduces Tweedie's trajectory (scripts/make_kdiffusion_fixtures.py).
    public static func dpmppSDE(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                                noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try dpmppSDELoop(eta: 1, sNoise: 1, r: 0.5, model: model, x: x, sigmas: sigmas, condition: condition,
                         noise: noise, onStep: onStep)
    }

    /// `dpmppSDE` with k-diffusion's eta, s_noise and r.
    public static func dpmppSDE(eta: Float, sNoise: Float = 1, r: Float = 0.5) -> Sampler {
        precondition(r > 0 && r < 1, "dpmppSDE: r must lie in (0, 1)")
        return { model, x, sigmas, condition, noise, onStep in
            try dpmppSDELoop(eta: Double(eta), sNoise: Double(sNoise), r: Double(r), model: model, x: x,
                             sigmas: sigmas, condition: condition, noise: noise, onStep: onStep)
        }
    }

    static func dpmppSDELoop(eta: Double, sNoise: Double, r: Double, model: Denoiser, x: Tensor, sigmas: [Float],
                             condition: Condition, noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dpmpp_sde")
        var x = x
        for i in 0..<(sigmas.count - 1) {
            let s = Double(sigmas[i]), sn = Double(sigmas[i + 1])
            let denoised = try model.denoise(x, sigma: sigmas[i], condition: condition)
            if sn == 0 {
                x = lincomb(x, 1, derivative(x, denoised, sigma: sigmas[i]), Float(sn - s))
            } else {
                let t = -log(s), tNext = -log(sn)
                let h = tNext - t
                let sMid = exp(-(t + h * r))
                let fac = 1 / (2 * r)
                let (z1, z2): (Tensor?, Tensor?) = try {
                    guard eta > 0 else { return (nil, nil) }
                    let z = try noise.normal(shape: [x.shape[0], 2] + x.shape.dropFirst(), purpose: .step(i))
                    let (a, b) = splitPairs(z)
                    return (a, b)
                }()

                // Stage 1: ancestral step sigma -> sigma_s.
                let (d1, u1) = ancestralStep(s, sMid, eta: eta)
                var terms1: [(Tensor, Double)] = [(x, d1 / s), (denoised, -expm1(log(d1) - log(s)))]
                if let z1, u1 > 0 { terms1.append((z1, u1 * sNoise)) }
                let x2 = weightedSum(terms1)
                let denoised2 = try model.denoise(x2, sigma: Float(sMid), condition: condition)

                // Stage 2: ancestral step sigma -> sigma' with the blended estimate.
                let (d2, u2) = ancestralStep(s, sn, eta: eta)
                let e = -expm1(log(d2) - log(s))
                var terms2: [(Tensor, Double)] = [(x, d2 / s), (denoised, (1 - fac) * e), (denoised2, fac * e)]
                if let z1, let z2, u2 > 0 {
                    // n2 = (sqrt(sigma - sigma_s) z1 + sqrt(sigma_s - sigma') z2) / sqrt(sigma - sigma').
                    let whole = (s - sn).squareRoot()
                    terms2.append((z1, u2 * sNoise * (s - sMid).squareRoot() / whole))
                    terms2.append((z2, u2 * sNoise * (sMid - sn).squareRoot() / whole))
                }
                x = weightedSum(terms2)
            }
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }

    /// DPM-Solver++(3M) SDE (k-diffusion's sample_dpmpp_3m_sde, eta = 1, s_noise = 1): the multistep SDE update in
    /// lambda = -log sigma with h_eta = (1 + eta) h: x' = e^{-h_eta} x + (1 - e^{-h_eta}) D, corrected by the first
    /// and second divided differences of the last three denoised values (phi_2 = expm1(-h_eta)/h_eta + 1, phi_3 =
    /// phi_2/h_eta - 1/2; first order on the first step, second on the second), plus noise
    /// sigma' sqrt(1 - e^{-2 eta h}) z with z from `noise` (purpose `.step(i)`). The last step lands on D.
    /// One model call per step. k-diffusion's default noise is a Brownian tree over sigma; with one draw per step on
    /// disjoint intervals its increments are independent unit normals, so Tweedie's per-step draws have the same law.
    public static func dpmpp3MSDE(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                                  noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try dpmpp3MSDELoop(eta: 1, sNoise: 1, model: model, x: x, sigmas: sigmas, condition: condition,
                           noise: noise, onStep: onStep)
    }

    /// `dpmpp3MSDE` with k-diffusion's eta and s_noise.
    public static func dpmpp3MSDE(eta: Float, sNoise: Float = 1) -> Sampler {
        { model, x, sigmas, condition, noise, onStep in
            try dpmpp3MSDELoop(eta: Double(eta), sNoise: Double(sNoise), model: model, x: x, sigmas: sigmas,
                               condition: condition, noise: noise, onStep: onStep)
        }
    }

    static func dpmpp3MSDELoop(eta: Double, sNoise: Double, model: Denoiser, x: Tensor, sigmas: [Float],
                               condition: Condition, noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dpmpp_3m_sde")
        var x = x
        var older: (denoised: Tensor, h: Double)?     // step i-1
        var oldest: (denoised: Tensor, h: Double)?    // step i-2
        for i in 0..<(sigmas.count - 1) {
            let s = Double(sigmas[i]), sn = Double(sigmas[i + 1])
            let denoised = try model.denoise(x, sigma: sigmas[i], condition: condition)
            var h = 0.0
            if sn == 0 {
                x = denoised
            } else {
                h = log(s) - log(sn)
                let hEta = h * (eta + 1)
                var terms: [(Tensor, Double)] = [(x, exp(-hEta)), (denoised, -expm1(-hEta))]
                let phi2 = expm1(-hEta) / hEta + 1
                if let p1 = older, let p2 = oldest {
                    let r0 = p1.h / h, r1 = p2.h / h
                    let phi3 = phi2 / hEta - 0.5
                    // phi2 d1 - phi3 d2 with d1_0 = (D - D1)/r0, d1_1 = (D1 - D2)/r1,
                    // d1 = d1_0 + (d1_0 - d1_1) r0/(r0 + r1), d2 = (d1_0 - d1_1)/(r0 + r1): a d1_0 + b d1_1.
                    let a = phi2 * (1 + r0 / (r0 + r1)) - phi3 / (r0 + r1)
                    let b = -phi2 * r0 / (r0 + r1) + phi3 / (r0 + r1)
                    terms[1].1 += a / r0
                    terms.append((p1.denoised, -a / r0 + b / r1))
                    terms.append((p2.denoised, -b / r1))
                } else if let p1 = older {
                    let r = p1.h / h
                    terms[1].1 += phi2 / r
                    terms.append((p1.denoised, -phi2 / r))
                }
                if eta > 0 {
                    let z = try noise.normal(shape: x.shape, purpose: .step(i))
                    terms.append((z, sn * (-expm1(-2 * h * eta)).squareRoot() * sNoise))
                }
                x = weightedSum(terms)
            }
            oldest = older
            older = (denoised, h)
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }
}
