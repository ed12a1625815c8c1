import TweedieCore

/// A fully connected layer in PyTorch layout (weight [out, in], optional bias [out]) over the last dimension.
public struct Linear {
    /// Weight [out, in].
    public let weight: Tensor
    /// Bias [out], if the layer has one.
    public let bias: Tensor?

    /// Loads `<prefix>.weight` (and `<prefix>.bias` when `bias`); `legacyPrefix` names the same layer in old
    /// checkpoints.
    public init(_ store: WeightStore, _ prefix: String, in inFeatures: Int, out outFeatures: Int,
                bias: Bool = true, legacyPrefix: String? = nil) throws {
        weight = try store.tensor(prefix + ".weight", shape: [outFeatures, inFeatures],
                                  legacyName: legacyPrefix.map { $0 + ".weight" })
        self.bias = bias ? try store.tensor(prefix + ".bias", shape: [outFeatures],
                                            legacyName: legacyPrefix.map { $0 + ".bias" }) : nil
    }

    /// Output features.
    public var outFeatures: Int { weight.shape[0] }

    /// x [..., in] -> [..., out].
    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias) }
}
