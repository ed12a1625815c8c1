import Foundation
import TweedieCore

/// The hard-concrete gate (Louizos et al. 2018) as EcoDiff samples it (`hard_concrete_distribution`, mode
/// `hard_discrete`): for a logit λ and a uniform u,
///   s = σ((log(u + ε) − log(1 − u + ε) + λ) / β),  m = clamp(s·(ζ − γ) + γ, 0, 1).
/// ε (EcoDiff's `masking_eps`) bounds the logistic noise to ±log((1 + ε)/ε); with ε → 0 this is the textbook gate.
/// The stretch (γ < 0, ζ > 1) lets a gate reach exactly 0 or 1 with non-zero probability.
public struct HardConcrete: Equatable, Sendable {
    /// Temperature β.
    public var beta: Float
    /// Lower stretch γ (< 0).
    public var gamma: Float
    /// Upper stretch ζ (> 1).
    public var zeta: Float
    /// Noise bound ε (EcoDiff's masking_eps).
    public var eps: Float

    /// EcoDiff's defaults: β 0.83, γ −0.1, ζ 1.1, ε 0.5 (its SDXL config).
    public init(beta: Float = 0.83, gamma: Float = -0.1, zeta: Float = 1.1, eps: Float = 0.5) {
        self.beta = beta
        self.gamma = gamma
        self.zeta = zeta
        self.eps = eps
    }

    /// Fails with `badInput` naming the flag of a value out of range.
    public func validate() throws {
        guard beta > 0, beta.isFinite else { throw TweedieError.badInput("--beta: must be positive, got \(beta)") }
        guard gamma < 0, gamma.isFinite else { throw TweedieError.badInput("--gamma: must be negative, got \(gamma)") }
        guard zeta > 1, zeta.isFinite else { throw TweedieError.badInput("--zeta: must exceed 1, got \(zeta)") }
        guard eps >= 0, eps.isFinite else { throw TweedieError.badInput("--mask-eps: must be >= 0, got \(eps)") }
    }

    /// The logistic noise of a uniform u: log(u + ε) − log(1 − u + ε), in Double so that the hand values of the
    /// tests are exact to Float rounding.
    @inline(__always)
    func noise(_ u: Float) -> Double {
        log(Double(u) + Double(eps)) - log(1 - Double(u) + Double(eps))
    }

    /// The stretched sigmoid s·(ζ − γ) + γ before clamping, and s.
    @inline(__always)
    func stretched(logit: Float, uniform u: Float) -> (value: Double, s: Double) {
        let s = 1 / (1 + exp(-(noise(u) + Double(logit)) / Double(beta)))
        return (s * Double(zeta - gamma) + Double(gamma), s)
    }

    /// The gate for logit λ and uniform u in [0, 1).
    public func mask(logit: Float, uniform u: Float) -> Float {
        Float(min(max(stretched(logit: logit, uniform: u).value, 0), 1))
    }

    /// The gate with the noise at its mean (u = ½, no noise): what a gate does at evaluation.
    public func deterministicMask(logit: Float) -> Float { mask(logit: logit, uniform: 0.5) }

    /// P(m > 0) = σ(λ − β·log(−γ/ζ)): the expected L0 norm of one gate, the regulariser's term.
    public func keepProbability(logit: Float) -> Double {
        1 / (1 + exp(-(Double(logit) - Double(beta) * log(-Double(gamma) / Double(zeta)))))
    }

    /// d P(m > 0) / dλ.
    public func keepProbabilityDerivative(logit: Float) -> Double {
        let p = keepProbability(logit: logit)
        return p * (1 - p)
    }

    /// Gates for `logits` [k] on `tape` with one uniform per gate. The gradient is dm/dλ = (ζ − γ)·s(1 − s)/β
    /// inside (0, 1) and 0 where the clamp holds, as autograd gives it.
    public func sample(_ tape: Tape, logits: Variable, uniform: Tensor) -> Variable {
        precondition(logits.value.count == uniform.count,
                     "HardConcrete.sample: \(logits.value.count) logits, \(uniform.count) uniforms")
        let lam = logits.value.data, u = uniform.data
        var masks = [Float](repeating: 0, count: lam.count)
        var slopes = [Float](repeating: 0, count: lam.count)
        let spread = Double(zeta - gamma) / Double(beta)
        for i in lam.indices {
            let (v, s) = stretched(logit: lam[i], uniform: u[i])
            masks[i] = Float(min(max(v, 0), 1))
            slopes[i] = v > 0 && v < 1 ? Float(spread * s * (1 - s)) : 0
        }
        let id = logits.id
        return tape.record(Tensor(shape: logits.shape, data: masks), inputs: [logits]) { g, tape in
            guard tape.needsGradient(id) else { return }
            tape.accumulate(id, Tensor(shape: g.shape, data: zip(g.data, slopes).map { $0 * $1 }))
        }
    }
}
