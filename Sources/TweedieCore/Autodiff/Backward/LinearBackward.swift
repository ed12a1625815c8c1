/// Gradients of `linear(x, weight:, bias:)` given dL/dy: dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy.
/// `x` is [..., in], `weight` [out, in], `gradOutput` [..., out]; only the requested gradients are computed.
public func linearBackward(gradOutput dy: Tensor, input x: Tensor, weight w: Tensor,
                           needInput: Bool = true, needWeight: Bool = true, needBias: Bool = true)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    linearGradients(dy, input: needWeight ? x : nil, inputShape: x.shape, weight: needInput ? w : nil,
                    weightShape: w.shape, needBias: needBias)
}

/// `linearBackward` with each operand present only when the other operand's gradient needs it (the input for dW,
/// the weight for dx), so a pullback keeps nothing it will not use.
func linearGradients(_ dy: Tensor, input x: Tensor?, inputShape: [Int], weight w: Tensor?, weightShape: [Int],
                     needBias: Bool) -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    let outF = weightShape[0], inF = weightShape[1]
    let rows = inputShape.reduce(1, *) / max(1, inF)
    precondition(dy.count == rows * outF,
                 "linearBackward: gradient \(dy.shape) for input \(inputShape), weight \(weightShape)")
    var gx: Tensor?, gw: Tensor?, gb: Tensor?
    dy.withUnsafeBufferPointer { pdy in
        let d = pdy.baseAddress!
        if let w {
            gx = Tensor(shape: inputShape) { out in
                w.withUnsafeBufferPointer { pw in
                    sgemm(m: rows, n: inF, k: outF, a: d, b: pw.baseAddress!, c: out.baseAddress!)
                }
            }
        }
        if let x {
            gw = Tensor(shape: weightShape) { out in
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
