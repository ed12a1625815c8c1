import TweedieCore

/// diffusers' Downsample2D with a convolution: 3x3, stride 2. Padding 0 means an asymmetric (0, 1, 0, 1) zero pad
/// first, as the VAE encoder uses; otherwise symmetric padding.
public struct Downsample2D {
    let conv: Conv2d
    let padBeforeConv: Bool

    /// Loads `<prefix>.conv` mapping `channels` to `outChannels`.
    public init(_ l: WeightLoader, _ prefix: String, channels: Int, outChannels: Int, padding: Int) throws {
        conv = try Conv2d(l, prefix + ".conv", in: channels, out: outChannels, kernel: 3, stride: 2, padding: padding)
        padBeforeConv = padding == 0
    }

    /// x [N, C, H, W] -> [N, C', H/2, W/2].
    public func callAsFunction(_ s: ForwardScope, _ x: Variable) -> Variable {
        conv(s, padBeforeConv ? s.tape.pad2d(x, left: 0, right: 1, top: 0, bottom: 1) : x)
    }
}
