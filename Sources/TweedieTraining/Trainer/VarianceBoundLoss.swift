import Foundation
import TweedieCore
import TweedieNoise

/// The variational-bound term that trains a learned-sigma network's variance channels, as DiT trains them
/// (Improved DDPM's L_vlb, improved-diffusion's `_vb_terms_bpd` with `learned_range`): the network's extra channels
/// v ∈ [−1, 1] pick log σ² = frac·log β_t + (1 − frac)·log β̃_t with frac = (v + 1)/2, the mean comes from the
/// ε/v prediction held fixed (no gradient reaches it from this term), and each sample's term is, in bits per
/// dimension, KL(q(x_{t−1} | x_t, x_0) ‖ p(x_{t−1} | x_t)) for t > 0 and the discretised-Gaussian decoder NLL of x_0
/// (256 bins on [−1, 1]) for t = 0. The returned loss is the mean over the batch, added to the ε-MSE with weight 1
/// (DiT's RESCALED_MSE at 1000 steps).
public struct VarianceBoundLoss {
    /// ᾱ_t for t = 0..<T.
    public let alphasCumprod: [Double]

    /// A bound over `alphasCumprod`.
    public init(alphasCumprod: [Double]) {
        self.alphasCumprod = alphasCumprod
    }

    /// Per-timestep constants: log β_t, clipped log β̃_t, and the posterior-mean coefficients of x_0 and x_t.
    private func constants(_ t: Int) -> (logBeta: Double, logPosterior: Double, c0: Double, ct: Double) {
        func at(_ t: Int) -> (beta: Double, prev: Double, abar: Double, posterior: Double) {
            let abar = alphasCumprod[t], prev = t > 0 ? alphasCumprod[t - 1] : 1
            let beta = 1 - abar / prev
            return (beta, prev, abar, beta * (1 - prev) / (1 - abar))
        }
        let s = at(t)
        // β̃_0 = 0: the log is clipped to β̃_1, as improved-diffusion does.
        let posterior = t == 0 ? at(min(1, alphasCumprod.count - 1)).posterior : s.posterior
        return (log(s.beta), log(posterior), s.beta * s.prev.squareRoot() / (1 - s.abar),
                (1 - s.prev) * (1 - s.beta).squareRoot() / (1 - s.abar))
    }

    /// The batch mean of the bound for variance outputs `variance` [N, C, H, W] (recorded on `tape`, the only
    /// operand that gets a gradient), given the network's fixed ε or v `meanPrediction`, clean `x0`, noisy
    /// `xt` and integer `timesteps`.
    public func loss(_ tape: Tape, variance: Variable, meanPrediction: Tensor, prediction: PredictionType,
                     x0: Tensor, xt: Tensor, timesteps: [Int]) -> Variable {
        let n = variance.shape[0], per = variance.value.count / max(n, 1)
        precondition(timesteps.count == n && [meanPrediction, x0, xt].allSatisfy { $0.shape == variance.shape },
                     "VarianceBoundLoss: shapes \(variance.shape), \(meanPrediction.shape), \(x0.shape), \(xt.shape)")
        var total = 0.0
        var grad = Tensor(shape: variance.shape)
        let scale = 1 / (Double(n * per) * log(2.0))
        let v = variance.value.data, pred = meanPrediction.data, clean = x0.data, noisy = xt.data
        grad.withUnsafeMutableBufferPointer { g in
            for i in 0..<n {
                let t = timesteps[i], k = constants(t)
                let a = alphasCumprod[t], sa = a.squareRoot(), s1 = (1 - a).squareRoot()
                for j in (i * per)..<((i + 1) * per) {
                    let x = Double(clean[j]), y = Double(noisy[j]), p = Double(pred[j])
                    let predX0 = prediction == .vPrediction ? sa * y - s1 * p : (y - s1 * p) / sa
                    let modelMean = k.c0 * predX0 + k.ct * y
                    let frac = (Double(v[j]) + 1) / 2
                    let logVar = frac * k.logBeta + (1 - frac) * k.logPosterior
                    let term: (value: Double, dLogVar: Double)
                    if t == 0 {
                        term = Self.decoderNLL(x: x, mean: modelMean, logVar: logVar)
                    } else {
                        let d = k.c0 * x + k.ct * y - modelMean
                        let e = exp(k.logPosterior - logVar), q = d * d * exp(-logVar)
                        term = (0.5 * (-1 + logVar - k.logPosterior + e + q), 0.5 * (1 - e - q))
                    }
                    total += term.value
                    g[j] = Float(term.dLogVar * (k.logBeta - k.logPosterior) / 2 * scale)
                }
            }
        }
        let vid = variance.id
        return tape.record(Tensor(shape: [1], data: [Float(total * scale)]), inputs: [variance]) { dy, tape in
            tape.accumulate(vid, TweedieCore.scale(grad, dy.data[0]))
        }
    }

    /// −log of the discretised Gaussian N(mean, e^logVar) over x's bin (half-open at ±1) and its derivative in
    /// logVar; the CDF is improved-diffusion's tanh approximation, probabilities clamped at 1e-12 as there.
    static func decoderNLL(x: Double, mean: Double, logVar: Double) -> (value: Double, dLogVar: Double) {
        let logScale = logVar / 2, inv = exp(-logScale)
        let plus = inv * (x - mean + 1 / 255.0), minus = inv * (x - mean - 1 / 255.0)
        func cdf(_ u: Double) -> (value: Double, slope: Double) {
            let c = (2 / Double.pi).squareRoot(), th = tanh(c * (u + 0.044715 * u * u * u))
            return (0.5 * (1 + th), 0.5 * (1 - th * th) * c * (1 + 3 * 0.044715 * u * u))
        }
        // d(plus)/d(logScale) = −plus, likewise for minus; d(logScale)/d(logVar) = 1/2.
        let p = cdf(plus), m = cdf(minus)
        let logProb: Double, dLogScale: Double
        if x < -0.999 {
            logProb = log(max(p.value, 1e-12))
            dLogScale = p.value > 1e-12 ? -p.slope * plus / p.value : 0
        } else if x > 0.999 {
            logProb = log(max(1 - m.value, 1e-12))
            dLogScale = 1 - m.value > 1e-12 ? m.slope * minus / (1 - m.value) : 0
        } else {
            let delta = p.value - m.value
            logProb = log(max(delta, 1e-12))
            dLogScale = delta > 1e-12 ? (-p.slope * plus + m.slope * minus) / delta : 0
        }
        return (-logProb, -dLogScale / 2)
    }
}
