import TweedieCore

/// diffusers' TimestepEmbedding: linear_1 -> SiLU -> linear_2, applied to a sinusoidal projection.
public struct TimestepMLP {
    let linear1: Linear
    let linear2: Linear

    /// Loads `<prefix>.linear_1` (in -> hidden) and `<prefix>.linear_2` (hidden -> out).
    public init(_ l: WeightLoader, _ prefix: String, in inFeatures: Int, hidden: Int, out: Int) throws {
        linear1 = try Linear(l, prefix + ".linear_1", in: inFeatures, out: hidden)
        linear2 = try Linear(l, prefix + ".linear_2", in: hidden, out: out)
    }

    /// x [N, in] -> [N, out].
    public func callAsFunction(_ s: ForwardScope, _ x: Variable) -> Variable {
        linear2(s, s.tape.silu(linear1(s, x)))
    }
}
