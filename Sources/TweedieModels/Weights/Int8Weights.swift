import TweedieCore

/// Weight-only int8 quantization, symmetric per output channel: W[o, ...] ≈ q[o, ...] · scale[o] with
/// scale[o] = max|W[o, ...]| / 127 and q = round(W / scale) in [-127, 127]. The model keeps only the int8 values
/// and the scales; each forward pass dequantizes one layer's weight at a time, so no Float32 copy of the whole
/// network lives at once. Without gradients it goes in panels of output channels into the pass's
/// `DequantizationScratch`, one buffer reused by every int8 layer (`Int8PanelForward`); with a gradient through the
/// layer, into a tensor of its own that the pullback keeps. The bias stays
/// Float32 in the table.
///
/// On disk (`tweedie quantize`, `QuantizedFolder`) the layer's `<prefix>.weight` is an I8 tensor of the weight's
/// shape and `<prefix>.weight_scale` an F32 tensor [out]; `WeightLoader.loadDense` turns that pair back into this
/// provider without making a Float32 weight.
public final class Int8Weights: WeightProvider {
    /// Suffix of a layer's scale tensor: `<prefix>.weight_scale`.
    public static let scaleSuffix = ".weight_scale"

    /// The weight's shape ([out, in] or [O, I, k, k]).
    public let shape: [Int]
    /// Quantized values, row-major, one row per output channel.
    public let values: [Int8]
    /// One scale per output channel.
    public let scales: [Float]

    /// Quantizes `weight`.
    public init(quantizing weight: Tensor) {
        shape = weight.shape
        let out = weight.shape[0], per = weight.count / max(out, 1)
        var q = [Int8](repeating: 0, count: weight.count)
        var s = [Float](repeating: 0, count: out)
        weight.withUnsafeBufferPointer { w in
            for o in 0..<out {
                var m: Float = 0
                for j in 0..<per { m = max(m, abs(w[o * per + j])) }
                let sc = m / 127
                s[o] = sc
                guard sc > 0 else { continue }
                for j in 0..<per { q[o * per + j] = Int8(max(-127, min(127, (w[o * per + j] / sc).rounded()))) }
            }
        }
        values = q
        scales = s
    }

    /// Stored values and scales, checked against each other (`badInput` naming `source` when they disagree).
    public init(shape: [Int], values: [Int8], scales: [Float], source: String) throws {
        guard shape.count >= 2, values.count == shape.reduce(1, *), scales.count == shape[0] else {
            throw TweedieError.badInput("\(source): int8 weight of shape \(shape) has \(values.count) values and "
                                        + "\(scales.count) scales (expected \(shape.reduce(1, *)) and \(shape.first ?? 0))")
        }
        self.shape = shape
        self.values = values
        self.scales = scales
    }

    /// The Float32 weight q · scale, in a tensor of its own.
    public func dequantized() -> Tensor {
        Tensor(shape: shape) { dequantize(into: $0) }
    }

    /// Writes q · scale of output channels `rows` (all by default) into `dst`, row after row.
    public func dequantize(rows: Range<Int>? = nil, into dst: UnsafeMutableBufferPointer<Float>) {
        let out = shape[0], per = values.count / max(out, 1), rows = rows ?? 0..<out
        precondition(rows.lowerBound >= 0 && rows.upperBound <= out && dst.count >= rows.count * per,
                     "Int8Weights: rows \(rows) of \(out) into \(dst.count) elements")
        guard let d = dst.baseAddress else { return }
        values.withUnsafeBufferPointer { q in
            guard let src = q.baseAddress else { return }
            // One contiguous row per output channel: the inner loop vectorises (int8 -> float, one multiply).
            for o in rows {
                let sc = scales[o], row = src + o * per, to = d + (o - rows.lowerBound) * per
                for j in 0..<per { to[j] = Float(row[j]) * sc }
            }
        }
    }

    /// Bytes held (int8 values plus Float32 scales).
    public var byteCount: Int { values.count + 4 * scales.count }

    public func linear(_ prefix: String, _ x: Variable, in s: ForwardScope) -> Variable {
        let bias = s.optionalParam(prefix + ".bias")
        guard x.requiresGrad || bias?.requiresGrad == true else {
            return s.tape.constant(panelLinear(x.value, bias: bias?.value, scratch: s.dequantizationScratch))
        }
        // A gradient flows through the layer: its pullback keeps the weight, so it gets a tensor of its own.
        return s.tape.linear(x, s.tape.constant(dequantized()), bias)
    }

    public func conv2d(_ prefix: String, _ x: Variable, stride: Int, padding: Int, in s: ForwardScope) -> Variable {
        let bias = s.optionalParam(prefix + ".bias")
        guard x.requiresGrad || bias?.requiresGrad == true else {
            // No gradient: panels of the weight on the pass's shared scratch, nothing recorded (Int8PanelForward).
            return s.tape.constant(panelConv2d(x.value, bias: bias?.value, stride: stride, padding: padding,
                                               scratch: s.dequantizationScratch))
        }
        return s.tape.conv2d(x, s.tape.constant(dequantized()), bias, stride: stride, padding: padding)
    }

    /// Quantizes every linear and convolution layer of `weights` (or those `include` accepts): each Float32
    /// weight leaves the table and an `Int8Weights` provider takes its place. Returns the layers quantized.
    @discardableResult
    public static func quantize(_ weights: ModelWeights, include: (String) -> Bool = { _ in true }) -> [String] {
        var done: [String] = []
        for prefix in weights.denseLayers where include(prefix) && weights.providers[prefix] == nil {
            guard let w = weights.tensors[prefix + ".weight"] else { continue }
            weights.setProvider(Int8Weights(quantizing: w), for: prefix)
            weights.remove(prefix + ".weight")
            done.append(prefix)
        }
        return done
    }
}
