import TweedieCore

/// The forward pass of an int8 layer when no gradient flows through it: the weight is dequantized a panel of output
/// channels at a time into the pass's `DequantizationScratch`, and each panel runs the ordinary Float32 kernel.
///
/// Why panels: a whole layer's Float32 weight can be a large share of an int8 model (Stable Diffusion's widest
/// up-block convolution, 1280 + 1280 -> 1280 channels 3x3, is 118 MB in Float32, a fifth of the whole network in
/// int8). Panels bound the Float32 held at once to `panelBudget` elements whatever the layer. Every output element
/// is the same dot product over the same inputs as with the whole weight; a layer that fits in one panel runs the
/// kernel exactly as before, and a split one pays one more im2col per extra panel (only wide layers split, and
/// those sit at low resolution where im2col is cheap) plus one copy of its output.
extension Int8Weights {
    /// Float32 elements of weight dequantized at once (4 MiB): one panel of output channels.
    public static let panelBudget = 1 << 20

    /// Output channels per panel for this layer.
    var panelChannels: Int {
        let out = shape[0], per = values.count / max(out, 1)
        return max(1, min(out, Self.panelBudget / max(per, 1)))
    }

    /// y = x·Wᵀ + b without recording anything: `x` [..., in] to [..., out].
    func panelLinear(_ x: Tensor, bias: Tensor?, scratch: DequantizationScratch) -> Tensor {
        let out = shape[0], step = panelChannels
        if step == out { return TweedieCore.linear(x, weight: scratch.weight(of: self, rows: 0..<out), bias: bias) }
        var shapeOut = x.shape
        shapeOut[shapeOut.count - 1] = out
        let rows = x.count / max(x.shape.last ?? 1, 1)
        var y = Tensor(shape: shapeOut)
        for start in stride(from: 0, to: out, by: step) {
            let range = start..<min(out, start + step)
            let part = TweedieCore.linear(x, weight: scratch.weight(of: self, rows: range),
                                          bias: bias.map { slice($0, range) })
            // Columns `range` of every row.
            y.withUnsafeMutableBufferPointer { dst in
                part.withUnsafeBufferPointer { src in
                    for r in 0..<rows {
                        (dst.baseAddress! + r * out + start).update(from: src.baseAddress! + r * range.count,
                                                                    count: range.count)
                    }
                }
            }
        }
        return y
    }

    /// The convolution of `x` [N, I, H, W] without recording anything.
    func panelConv2d(_ x: Tensor, bias: Tensor?, stride: Int, padding: Int, scratch: DequantizationScratch) -> Tensor {
        let out = shape[0], step = panelChannels
        // The kernel is not told the weight is constant, so no convolution backend caches (and so pins) the
        // scratch's contents: a cache of dequantized weights would rebuild the Float32 model int8 exists to avoid.
        if step == out {
            return TweedieCore.conv2d(x, weight: scratch.weight(of: self, rows: 0..<out), bias: bias, stride: stride,
                                      padding: padding)
        }
        var y: Tensor?
        for start in Swift.stride(from: 0, to: out, by: step) {
            let range = start..<min(out, start + step)
            let part = TweedieCore.conv2d(x, weight: scratch.weight(of: self, rows: range),
                                          bias: bias.map { slice($0, range) }, stride: stride, padding: padding)
            let (n, plane) = (part.shape[0], part.shape[2] * part.shape[3])
            if y == nil { y = Tensor(shape: [n, out, part.shape[2], part.shape[3]]) }
            // Channels `range` of every sample.
            y!.withUnsafeMutableBufferPointer { dst in
                part.withUnsafeBufferPointer { src in
                    for b in 0..<n {
                        (dst.baseAddress! + (b * out + start) * plane).update(
                            from: src.baseAddress! + b * range.count * plane, count: range.count * plane)
                    }
                }
            }
        }
        return y!
    }

    private func slice(_ bias: Tensor, _ range: Range<Int>) -> Tensor {
        Tensor(shape: [range.count], data: Array(bias.data[range]))
    }
}
