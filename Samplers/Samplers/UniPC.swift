import Foundation
import TweedieCore

/// UniPC's B(h) choice (Zhao et al. 2023): bh1 is B(h) = h, bh2 is B(h) = e^h - 1.
public enum UniPCVariant: String, Sendable {
    case bh1, bh2
}

extension Samplers {
    /// UniPC (Zhao et al. 2023), diffusers' UniPCMultistepScheduler with its defaults: solver_type bh2,
    /// solver_order 2, predict_x0 (data prediction), lower_order_final, the corrector on every step. Registered as
    /// `uni_pc_bh2`, ComfyUI's name for the bh2 variant (ComfyUI's own implementation runs order 3; its `uni_pc`
    /// is bh1). Use it on the `.dpmSolver` schedule family, which is the timestep layout of diffusers' scheduler.
    ///
    /// Written in sigma space: with lambda = -log sigma, diffusers' VP update x_t = (sigma_t/sigma_s) x -
    /// alpha_t h phi_1 m0 - alpha_t B(h) sum rho_k D1_k becomes, divided by alpha_t, x' = (sigma'/sigma) x -
    /// expm1(-h) m0 - B(h) sum rho_k (m_k - m0) / r_k with m the model's x0 estimates, h = lambda' - lambda and
    /// r_k = (lambda_k - lambda) / h. Each step i: D(x_i) at the predicted x_i; the corrector UniC (order of the
    /// previous predictor, rho_c solving R rho = b with R_jk = r_k^j, b_j = h phi_{j+1}(h) (j+1)! / B(h)) replaces
    /// x_i using that estimate; the predictor UniP (order min(order, steps left, warm-up); rho_p = 1/2 at order 2)
    /// moves to sigma_{i+1}. The estimate made at the uncorrected x_i is the one kept, as in diffusers. The step to
    /// sigma = 0 has order 1 and lands on D. One model call per step; `onStep` sees the predictor's x.
    public static func uniPCBH2(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                                noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try uniPCLoop(order: 2, variant: .bh2, model: model, x: x, sigmas: sigmas, condition: condition,
                      onStep: onStep)
    }

    /// UniPC of another order (1-3) or variant.
    public static func uniPC(order: Int, variant: UniPCVariant) -> Sampler {
        precondition((1...3).contains(order), "uniPC: order must be 1, 2 or 3")
        return { model, x, sigmas, condition, _, onStep in
            try uniPCLoop(order: order, variant: variant, model: model, x: x, sigmas: sigmas, condition: condition,
                          onStep: onStep)
        }
    }

    static func uniPCLoop(order: Int, variant: UniPCVariant, model: Denoiser, x: Tensor, sigmas: [Float],
                          condition: Condition, onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "uni_pc")
        let n = sigmas.count - 1
        var x = x
        var history: [(denoised: Tensor, sigma: Double)] = []  // newest last, at most `order`
        var lastSample: Tensor?
        var lastOrder = 0
        var warm = 0
        for i in 0..<n {
            let s = Double(sigmas[i])
            let denoised = try model.denoise(x, sigma: sigmas[i], condition: condition)
            if let last = lastSample {
                x = uniCorrector(last: last, model: denoised, history: history, sigma: s, order: lastOrder,
                                 variant: variant)
            }
            history.append((denoised, s))
            if history.count > order { history.removeFirst() }
            let thisOrder = min(order, n - i, warm + 1)
            lastSample = x
            lastOrder = thisOrder
            x = uniPredictor(x, history: history, sigmaNext: Double(sigmas[i + 1]), order: thisOrder,
                             variant: variant)
            warm = min(warm + 1, order)
            if report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }

    /// UniPC's coefficient system for `order`: R (order x order, R_jk = r_k^j with r_last = 1) and b.
    static func uniPCSystem(h: Double, rks: [Double], order: Int, variant: UniPCVariant) -> (r: [[Double]], b: [Double], bh: Double, hPhi1: Double) {
        let hh = -h
        let hPhi1 = expm1(hh)
        let bh = variant == .bh1 ? hh : expm1(hh)
        var hPhiK = hPhi1 / hh - 1
        var factorial = 1.0
        var r: [[Double]] = [], b: [Double] = []
        for i in 1...order {
            r.append(rks.map { pow($0, Double(i - 1)) })
            b.append(hPhiK * factorial / bh)
            factorial *= Double(i + 1)
            hPhiK = hPhiK / hh - 1 / factorial
        }
        return (r, b, bh, hPhi1)
    }

    /// The older estimates the predictor and corrector combine, newest first, with their log-sigma distances to
    /// the newest as fractions r_k of the step `h`.
    static func olderEstimates(_ history: [(denoised: Tensor, sigma: Double)], h: Double,
                               order: Int) -> (rks: [Double], older: [Tensor]) {
        let s0 = history[history.count - 1].sigma
        var rks: [Double] = [], older: [Tensor] = []
        for k in 1..<max(1, order) {
            let (mk, sk) = history[history.count - 1 - k]
            rks.append((log(s0) - log(sk)) / h)
            older.append(mk)
        }
        return (rks, older)
    }

    /// UniP: from x at history.last's sigma to `sigmaNext`.
    static func uniPredictor(_ x: Tensor, history: [(denoised: Tensor, sigma: Double)], sigmaNext: Double, order: Int,
                             variant: UniPCVariant) -> Tensor {
        let (m0, s0) = history[history.count - 1]
        if sigmaNext == 0 { return m0 }  // order 1 onto sigma = 0: (0/sigma) x - expm1(-inf) m0 = m0
        let h = log(s0) - log(sigmaNext)
        let (rks, older) = olderEstimates(history, h: h, order: order)
        let sys = uniPCSystem(h: h, rks: rks + [1], order: order, variant: variant)
        let rhos: [Double]
        switch order {
        case 1: rhos = []
        case 2: rhos = [0.5]
        default: rhos = solveSmallSystem(Array(sys.r.dropLast().map { Array($0.dropLast()) }), Array(sys.b.dropLast()))
        }
        // (sigma'/sigma) x - hPhi1 m0 - B(h) sum_k rho_k (m_k - m0) / r_k
        var terms: [(Tensor, Double)] = [(x, sigmaNext / s0), (m0, -sys.hPhi1)]
        for k in 0..<rhos.count {
            terms[1].1 += sys.bh * rhos[k] / rks[k]
            terms.append((older[k], -sys.bh * rhos[k] / rks[k]))
        }
        return weightedSum(terms)
    }

    /// UniC: corrects the predicted x at `sigma` with the model's estimate there; `last` is the sample the
    /// predictor started from (at history.last's sigma), `order` the predictor's order.
    static func uniCorrector(last: Tensor, model mt: Tensor, history: [(denoised: Tensor, sigma: Double)],
                             sigma: Double, order: Int, variant: UniPCVariant) -> Tensor {
        let (m0, s0) = history[history.count - 1]
        let h = log(s0) - log(sigma)
        let (rks, older) = olderEstimates(history, h: h, order: order)
        let sys = uniPCSystem(h: h, rks: rks + [1], order: order, variant: variant)
        let rhos = order == 1 ? [0.5] : solveSmallSystem(sys.r, sys.b)
        // (sigma/sigma0) last - hPhi1 m0 - B(h) (sum_k rho_k (m_k - m0) / r_k + rho_last (m_t - m0))
        let rhoT = rhos[rhos.count - 1]
        var terms: [(Tensor, Double)] = [(last, sigma / s0), (m0, -sys.hPhi1 + sys.bh * rhoT), (mt, -sys.bh * rhoT)]
        for k in 0..<rks.count {
            terms[1].1 += sys.bh * rhos[k] / rks[k]
            terms.append((older[k], -sys.bh * rhos[k] / rks[k]))
        }
        return weightedSum(terms)
    }
}
