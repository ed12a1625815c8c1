import TweedieCore

/// A fully connected layer in PyTorch layout (weight [out, in], optional bias [out]) over the last dimension,
/// computed through the scope (so a weight provider can stand in for the stored weight).
public struct Linear {
    /// diffusers name of the layer; its tensors are `<prefix>.weight` and `<prefix>.bias`.
    public let prefix: String
    /// Input features.
    public let inFeatures: Int
    /// Output features.
    public let outFeatures: Int

    /// Loads `<prefix>.weight` (Float32, or int8 with its scales) and `<prefix>.bias` when `bias`; `legacyPrefix`
    /// names the same layer in old checkpoints.
    public init(_ l: WeightLoader, _ prefix: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true,
                legacyPrefix: String? = nil) throws {
        try l.loadDense(prefix, shape: [outFeatures, inFeatures], bias: bias, legacyPrefix: legacyPrefix)
        self.prefix = prefix
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// x [..., in] -> [..., out].
    public func callAsFunction(_ s: ForwardScope, _ x: Variable) -> Variable { s.linear(prefix, x) }
}
