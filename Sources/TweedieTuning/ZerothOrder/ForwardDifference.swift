import TweedieCore

/// ZOODiP's gradient estimate from forward passes only: with n directions z_i (`GaussianDirections`) and step μ,
/// δ_i = (L(θ + μ z_i) − L(θ)) / μ (a one-sided forward difference: n + 1 evaluations of L, which must share their
/// randomness: the same image, noise and timestep) and ĝ = (1/n) Σ δ_i z_i. Since E[z zᵀ] = I, ĝ tends to ∇L as
/// n grows (plus an O(μ) bias from the one-sided difference). The official code further divides by
/// √((d_eff + n − 1)/n) (`zoodipScale`), which changes the step sizes ZO-Adam takes under its large ε, not the
/// direction.
///
/// θ + μ z_i is formed afresh from θ for each evaluation, so θ never drifts (the official code perturbs and
/// restores θ in place in fp16, which does).
public struct ForwardDifference: Sendable, Equatable {
    /// Number of directions n per estimate.
    public let directions: Int
    /// Perturbation size μ (ZOODiP: 1e-3).
    public let mu: Float

    /// An estimator with `directions` directions of step `mu`.
    public init(directions: Int, mu: Float) {
        precondition(directions >= 1 && mu > 0 && mu.isFinite, "ForwardDifference: n \(directions), μ \(mu)")
        self.directions = directions
        self.mu = mu
    }

    /// One estimate.
    public struct Estimate: Sendable {
        /// (1/n) Σ δ_i z_i.
        public var gradient: [Float]
        /// L(θ), the unperturbed loss.
        public var loss: Double
        /// δ_i, the directional difference quotients.
        public var differences: [Double]
        /// Evaluations of L made (n + 1).
        public var evaluations: Int
    }

    /// The estimate at `theta` for update `step`: `loss` is evaluated at θ, then at θ + μ z_i for the directions
    /// `firstIndex ..< firstIndex + n` of `stream` (micro-batches of one update take disjoint indices).
    public func estimate(at theta: [Float], step: Int, firstIndex: Int = 0, stream: GaussianDirections,
                         loss: ([Float]) throws -> Double) rethrows -> Estimate {
        precondition(theta.count == stream.dimension, "ForwardDifference: θ has \(theta.count), directions \(stream.dimension)")
        let base = try loss(theta)
        var g = [Double](repeating: 0, count: theta.count)
        var deltas: [Double] = []
        for i in 0..<directions {
            let z = stream.direction(step: step, index: firstIndex + i)
            var probe = theta
            for j in probe.indices { probe[j] += mu * z[j] }
            let d = (try loss(probe) - base) / Double(mu)
            deltas.append(d)
            // z_i is regenerated, not kept from the perturbation: the estimator stores no direction.
            let again = stream.direction(step: step, index: firstIndex + i)
            for j in g.indices { g[j] += d * Double(again[j]) }
        }
        let n = Double(directions)
        return Estimate(gradient: g.map { Float($0 / n) }, loss: base, differences: deltas, evaluations: directions + 1)
    }

    /// The official normalisation 1/√((d_eff + n − 1)/n) for `effectiveDimension` d_eff (d minus the directions
    /// the subspace gradient removes).
    public static func zoodipScale(directions n: Int, effectiveDimension d: Int) -> Float {
        Float((Double(n) / Double(max(1, d + n - 1))).squareRoot())
    }
}
