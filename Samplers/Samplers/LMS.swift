import TweedieCore

extension Samplers {
    /// Linear multistep (k-diffusion's sample_lms, order 4): the ODE dx/dsigma = d(x, sigma) = (x - D(x, sigma)) /
    /// sigma integrated with an Adams-Bashforth step over sigma. The last `order` slopes d_{i-j} (j = 0 the newest)
    /// are interpolated by their Lagrange polynomial in sigma and integrated exactly over [sigma_i, sigma_{i+1}]:
    /// x_{i+1} = x_i + sum_j c_j d_{i-j}, c_j = integral of prod_{k != j} (tau - sigma_{i-k}) / (sigma_{i-j} -
    /// sigma_{i-k}). The order ramps up 1, 2, 3, 4 over the first steps, and the last step (to sigma = 0) is an LMS
    /// step too, as in k-diffusion. k-diffusion integrates the basis with scipy's quad (to 1e-4 relative, in
    /// practice exact for these cubics); here a 4-point Gauss-Legendre rule, exact for polynomials up to degree 7.
    /// One model call per step.
    public static func lms(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition, noise: NoiseSource,
                           onStep: StepCallback) throws -> Tensor {
        try lmsLoop(order: 4, model: model, x: x, sigmas: sigmas, condition: condition, onStep: onStep)
    }

    /// Linear multistep of another `order` (k-diffusion's `order` argument; 4 is `lms`).
    public static func linearMultistep(order: Int) -> Sampler {
        precondition(order >= 1, "linearMultistep: order must be at least 1")
        return { model, x, sigmas, condition, _, onStep in
            try lmsLoop(order: order, model: model, x: x, sigmas: sigmas, condition: condition, onStep: onStep)
        }
    }

    static func lmsLoop(order: Int, model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                        onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "lms")
        var x = x
        var slopes: [Tensor] = []  // oldest first, at most `order`
        for i in 0..<(sigmas.count - 1) {
            let denoised = try model.denoise(x, sigma: sigmas[i], condition: condition)
            slopes.append(derivative(x, denoised, sigma: sigmas[i]))
            if slopes.count > order { slopes.removeFirst() }
            let current = min(i + 1, order)
            var terms: [(Tensor, Double)] = [(x, 1)]
            for j in 0..<current {
                terms.append((slopes[slopes.count - 1 - j], lmsCoefficient(order: current, sigmas: sigmas, step: i, term: j)))
            }
            x = weightedSum(terms)
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }

    /// k-diffusion's linear_multistep_coeff: the integral over [sigma_i, sigma_{i+1}] of the Lagrange basis
    /// polynomial of node sigma_{i-j} among the nodes sigma_i ... sigma_{i-order+1}.
    static func lmsCoefficient(order: Int, sigmas: [Float], step i: Int, term j: Int) -> Double {
        precondition(order - 1 <= i, "lms: order \(order) too high for step \(i)")
        func node(_ k: Int) -> Double { Double(sigmas[i - k]) }
        func basis(_ tau: Double) -> Double {
            var p = 1.0
            for k in 0..<order where k != j { p *= (tau - node(k)) / (node(j) - node(k)) }
            return p
        }
        let a = Double(sigmas[i]), b = Double(sigmas[i + 1])
        let mid = (a + b) / 2, half = (b - a) / 2
        // Gauss-Legendre, 4 points on [-1, 1].
        let nodes = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526]
        let weights = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538]
        var sum = 0.0
        for (u, w) in zip(nodes, weights) { sum += w * basis(mid + half * u) }
        return sum * half
    }
}
