import TweedieCore

/// A 2-D convolution in PyTorch layout (weight [O, I, k, k], bias [O]) with square kernel, stride and padding,
/// computed through the scope (so a weight provider can stand in for the stored weight).
public struct Conv2d {
    /// diffusers name of the layer; its tensors are `<prefix>.weight` and `<prefix>.bias`.
    public let prefix: String
    /// Output channels.
    public let outChannels: Int
    /// Step between output positions.
    public let stride: Int
    /// Zero padding on every side.
    public let padding: Int

    /// Loads `<prefix>.weight` (Float32, or int8 with its scales) and `<prefix>.bias`.
    public init(_ l: WeightLoader, _ prefix: String, in inChannels: Int, out outChannels: Int, kernel: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = true) throws {
        try l.loadDense(prefix, shape: [outChannels, inChannels, kernel, kernel], bias: bias)
        self.prefix = prefix
        self.outChannels = outChannels
        self.stride = stride
        self.padding = padding
    }

    /// x [N, I, H, W] -> [N, O, H', W'].
    public func callAsFunction(_ s: ForwardScope, _ x: Variable) -> Variable {
        s.conv2d(prefix, x, stride: stride, padding: padding)
    }
}
