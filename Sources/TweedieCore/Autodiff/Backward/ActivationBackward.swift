#if canImport(Glibc)
import Glibc
#endif

/// dx = dy · f′(x) for an elementwise activation with derivative `derivative`. The derivatives call libm's
/// expf/erfcf: measured 2-3x faster here than the kernels' expApprox/erfcApprox inside these longer formulas.
@inline(__always)
func elementwiseBackward(_ dy: Tensor, _ x: Tensor, _ derivative: (Float) -> Float) -> Tensor {
    zipElements(dy, x, "activation backward") { d, v in d * derivative(v) }
}

/// Gradient of `silu(x)`: with s = sigmoid(x), d/dx x·s = s·(1 + x·(1 − s)). Unlike the other derivatives it uses
/// the forward's `expApprox`, eight lanes at a time (the tail lane by lane, with the same bits).
public func siluBackward(gradOutput dy: Tensor, input x: Tensor) -> Tensor {
    zipElements(dy, x, "silu backward", { d, v in
        let s = 1 / (1 + expApprox(-v))
        return d * (s * (1 + v * (1 - s)))
    }, { d, v in
        let s = 1 / (1 + expApprox(-v))
        return d * (s * (1 + v * (1 - s)))
    })
}

/// Gradient of `gelu(x, approximate:)`. Exact: Φ(x) + x·φ(x). Tanh form x·σ(2u), u = √(2/π)(x + 0.044715x³):
/// σ(2u) + x·σ(2u)(1 − σ(2u))·2u′.
public func geluBackward(gradOutput dy: Tensor, input x: Tensor, approximate: Bool = false) -> Tensor {
    if approximate {
        return elementwiseBackward(dy, x) { v in
            let c: Float = 0.797_884_56, a: Float = 0.044_715
            let s = 1 / (1 + expf(-2 * c * (v + a * v * v * v)))
            return s + v * s * (1 - s) * 2 * c * (1 + 3 * a * v * v)
        }
    }
    return elementwiseBackward(dy, x) { v in
        0.5 * erfcf(-0.707_106_78 * v) + v * 0.398_942_28 * expf(-0.5 * v * v)
    }
}

/// Gradient of `sigmoid(x)` from its output y: dx = dy · y(1 − y).
public func sigmoidBackward(gradOutput dy: Tensor, output y: Tensor) -> Tensor {
    elementwiseBackward(dy, y) { s in s * (1 - s) }
}

/// Gradient of `softmaxLastDim(x)` from its output y, per row: dx = y ⊙ (dy − ⟨dy, y⟩).
public func softmaxBackward(gradOutput dy: Tensor, output y: Tensor) -> Tensor {
    zipRows(dy, y, "softmaxBackward") { yr, gr, o, d in softmaxRowBackward(yr, gr, o, d) }
}

/// Applies `row(y, dy, dst, d)` to every row of the last dimension (length d) of an output `y` and its gradient
/// `dy`, threaded over rows: the backward of a row-wise op such as softmax.
@inline(__always)
func zipRows(_ dy: Tensor, _ y: Tensor, _ op: String,
             _ row: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
    precondition(dy.shape == y.shape, "\(op): gradient \(dy.shape) for output \(y.shape)")
    let d = y.shape.last ?? 1, rows = d == 0 ? 0 : y.count / d
    return Tensor(shape: y.shape) { out in
        guard let po = out.baseAddress, rows > 0 else { return }
        y.withUnsafeBufferPointer { py in
            dy.withUnsafeBufferPointer { pd in
                parallelFor(rows, grain: max(1, 8192 / d)) { r in
                    row(py.baseAddress! + r * d, pd.baseAddress! + r * d, po + r * d, d)
                }
            }
        }
    }
}

/// One softmax row: dst = y ⊙ (dy − ⟨dy, y⟩); `dst` may alias `dy`.
@inline(__always)
func softmaxRowBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                        _ n: Int) {
    let inner = Float(dotFloats(y, dy, n))
    for i in 0..<n { dst[i] = y[i] * (dy[i] - inner) }
}
