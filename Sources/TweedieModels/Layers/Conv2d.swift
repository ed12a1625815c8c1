import TweedieCore

/// A 2-D convolution in PyTorch layout (weight [O, I, k, k], bias [O]) with square kernel, stride and padding.
public struct Conv2d {
    /// Weight [O, I, k, k].
    public let weight: Tensor
    /// Bias [O], if the layer has one.
    public let bias: Tensor?
    /// Step between output positions.
    public let stride: Int
    /// Zero padding on every side.
    public let padding: Int

    /// Loads `<prefix>.weight` and `<prefix>.bias`.
    public init(_ store: WeightStore, _ prefix: String, in inChannels: Int, out outChannels: Int, kernel: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = true) throws {
        weight = try store.tensor(prefix + ".weight", shape: [outChannels, inChannels, kernel, kernel])
        self.bias = bias ? try store.tensor(prefix + ".bias", shape: [outChannels]) : nil
        self.stride = stride
        self.padding = padding
    }

    /// Output channels.
    public var outChannels: Int { weight.shape[0] }

    /// x [N, I, H, W] -> [N, O, H', W'].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}
