import TweedieCore

/// The sparsity term of the pruning loss: the hard-concrete L0 surrogate (Louizos et al. 2018) weighted by what
/// each unit costs, R = Σ_u p_u·P(m_u > 0) / Σ_u p_u with P(m > 0) = σ(λ − β·log(−γ/ζ)): the expected share of
/// the prunable parameters a sampled mask keeps. It is EcoDiff's `reg: 0` option with the parameter weights added,
/// so a large unit (a resnet channel group of a wide convolution) costs more than a small one (one FFN neuron),
/// as in the ratio the export prunes to. Unlike the official configs' L1 on λ (which pulls λ to 0, a mask of ½),
/// it pushes λ down toward "off" for every unit the reconstruction term does not defend.
public struct PruningRegularizer {
    /// The gate whose keep probability is penalised.
    public let gate: HardConcrete
    /// Parameters per unit, per group.
    public let parametersPerUnit: [Int]
    private let total: Double

    /// The term over groups with `counts` units of `parametersPerUnit` parameters each.
    public init(gate: HardConcrete, counts: [Int], parametersPerUnit: [Int]) {
        self.gate = gate
        self.parametersPerUnit = parametersPerUnit
        total = zip(counts, parametersPerUnit).reduce(0.0) { $0 + Double($1.0 * $1.1) }
    }

    /// R at `logits` (one tensor per group).
    public func value(_ logits: [Tensor]) -> Double {
        var sum = 0.0
        for (l, p) in zip(logits, parametersPerUnit) {
            for x in l.data { sum += Double(p) * gate.keepProbability(logit: x) }
        }
        return sum / total
    }

    /// dR/dλ, shaped like `logits`.
    public func gradient(_ logits: [Tensor]) -> [Tensor] {
        zip(logits, parametersPerUnit).map { l, p in
            Tensor(shape: l.shape, data: l.data.map { Float(Double(p) * gate.keepProbabilityDerivative(logit: $0) / total) })
        }
    }
}
