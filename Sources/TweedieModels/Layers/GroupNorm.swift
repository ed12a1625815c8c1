import TweedieCore

/// Affine group normalisation over [N, C, ...] (PyTorch's nn.GroupNorm with affine=True).
public struct GroupNorm {
    /// Number of channel groups.
    public let groups: Int
    /// Added to the variance.
    public let eps: Float
    /// Per-channel scale [C].
    public let weight: Tensor
    /// Per-channel shift [C].
    public let bias: Tensor

    /// Loads `<prefix>.weight` and `<prefix>.bias` for `channels` channels.
    public init(_ store: WeightStore, _ prefix: String, channels: Int, groups: Int, eps: Float) throws {
        precondition(groups > 0 && channels % groups == 0, "GroupNorm: \(groups) groups over \(channels) channels")
        self.groups = groups
        self.eps = eps
        weight = try store.tensor(prefix + ".weight", shape: [channels])
        bias = try store.tensor(prefix + ".bias", shape: [channels])
    }

    /// Normalised x, same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps)
    }
}
