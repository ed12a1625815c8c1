import TweedieCore

/// diffusers' TimestepEmbedding: linear_1 -> SiLU -> linear_2, applied to a sinusoidal projection.
public struct TimestepMLP {
    let linear1: Linear
    let linear2: Linear

    /// Loads `<prefix>.linear_1` (in -> hidden) and `<prefix>.linear_2` (hidden -> out).
    public init(_ store: WeightStore, _ prefix: String, in inFeatures: Int, hidden: Int, out: Int) throws {
        linear1 = try Linear(store, prefix + ".linear_1", in: inFeatures, out: hidden)
        linear2 = try Linear(store, prefix + ".linear_2", in: hidden, out: out)
    }

    /// x [N, in] -> [N, out].
    public func callAsFunction(_ x: Tensor) -> Tensor { linear2(silu(linear1(x))) }
}
