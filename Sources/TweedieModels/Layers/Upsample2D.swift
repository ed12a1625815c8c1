import TweedieCore

/// diffusers' Upsample2D with a convolution: nearest-neighbour 2x, then a 3x3 convolution with padding 1.
public struct Upsample2D {
    let conv: Conv2d

    /// Loads `<prefix>.conv` mapping `channels` to `outChannels`.
    public init(_ l: WeightLoader, _ prefix: String, channels: Int, outChannels: Int) throws {
        conv = try Conv2d(l, prefix + ".conv", in: channels, out: outChannels, kernel: 3, padding: 1)
    }

    /// x [N, C, H, W] -> [N, C', 2H, 2W].
    public func callAsFunction(_ s: ForwardScope, _ x: Variable) -> Variable {
        conv(s, s.tape.upsampleNearest2x(x))
    }
}
