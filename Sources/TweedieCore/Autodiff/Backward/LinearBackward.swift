/// Gradients of `linear(x, weight:, bias:)` given dL/dy: dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy.
/// `x` is [..., in], `weight` [out, in], `gradOutput` [..., out]; only the requested gradients are computed.
public func linearBackward(gradOutput dy: Tensor, input x: Tensor, weight w: Tensor,
                           needInput: Bool = true, needWeight: Bool = true, needBias: Bool = true)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    let outF = w.shape[0], inF = w.shape[1]
    let rows = x.count / max(1, inF)
    precondition(dy.count == rows * outF, "linearBackward: gradient \(dy.shape) for input \(x.shape), weight \(w.shape)")
    var gx: Tensor?, gw: Tensor?, gb: Tensor?
    dy.withUnsafeBufferPointer { pdy in
        let d = pdy.baseAddress!
        if needInput {
            gx = Tensor(shape: x.shape) { out in
                w.withUnsafeBufferPointer { pw in
                    sgemm(m: rows, n: inF, k: outF, a: d, b: pw.baseAddress!, c: out.baseAddress!)
                }
            }
        }
        if needWeight {
            gw = Tensor(shape: w.shape) { out in
                if rows == 0 { out.update(repeating: 0); return }
                x.withUnsafeBufferPointer { px in
                    sgemm(transA: true, m: outF, n: inF, k: rows, a: d, b: px.baseAddress!, c: out.baseAddress!)
                }
            }
        }
        if needBias {
            gb = Tensor(shape: [outF]) { out in
                GradLoops.columnSums(d, rows: rows, cols: outF, into: out.baseAddress!, accumulate: false)
            }
        }
    }
    return (gx, gw, gb)
}
