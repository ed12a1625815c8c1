import TweedieCore

/// Affine group normalisation over [N, C, ...] (PyTorch's nn.GroupNorm with affine=True).
public struct GroupNorm {
    /// diffusers name; the tensors are `<prefix>.weight` and `<prefix>.bias` [C].
    public let prefix: String
    /// Number of channel groups.
    public let groups: Int
    /// Added to the variance.
    public let eps: Float

    /// Loads `<prefix>.weight` and `<prefix>.bias` for `channels` channels.
    public init(_ l: WeightLoader, _ prefix: String, channels: Int, groups: Int, eps: Float) throws {
        precondition(groups > 0 && channels % groups == 0, "GroupNorm: \(groups) groups over \(channels) channels")
        try l.load(prefix + ".weight", shape: [channels])
        try l.load(prefix + ".bias", shape: [channels])
        self.prefix = prefix
        self.groups = groups
        self.eps = eps
    }

    /// Normalised x, same shape.
    public func callAsFunction(_ s: ForwardScope, _ x: Variable) -> Variable {
        s.tape.groupNorm(x, groups: groups, weight: s.param(prefix + ".weight"), bias: s.param(prefix + ".bias"),
                         eps: eps)
    }
}
