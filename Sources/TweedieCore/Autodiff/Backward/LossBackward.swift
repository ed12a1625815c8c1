#if canImport(Glibc)
import Glibc
#endif

// Forward and backward kernels of the classification losses. Rows are short (one per class), so each row is
// handled serially with Double sums; the batch is threaded when it is large enough to pay.

/// log-softmax over the last dimension: x − max − log Σ exp(x − max), per row (+∞ or NaN in a row give NaN).
public func logSoftmaxLastDim(_ x: Tensor) -> Tensor {
    precondition(x.rank >= 1, "logSoftmaxLastDim: input must have at least one dimension")
    return mapRows(x, logSoftmaxRow)
}

/// One row of log-softmax from `src` into `dst`.
@inline(__always)
func logSoftmaxRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = maxFloats(src, n)
    // A row of all −∞ has no finite maximum; shifting by 0 keeps it −∞ − log 0 = NaN, as PyTorch reports.
    let shift = m.isFinite ? m : 0
    var total = 0.0
    for i in 0..<n { total += exp(Double(src[i] - shift)) }
    let lse = Float(log(total))
    for i in 0..<n { dst[i] = src[i] - shift - lse }
}

/// Gradient of `logSoftmaxLastDim(x)` from its output y, per row: dx = dy − softmax(x)·Σ dy, softmax = e^y.
public func logSoftmaxBackward(gradOutput dy: Tensor, output y: Tensor) -> Tensor {
    zipRows(dy, y, "logSoftmaxBackward") { yr, gr, o, d in
        let total = Float(sumFloats(gr, d))
        for i in 0..<d { o[i] = gr[i] - expf(yr[i]) * total }
    }
}

/// Mean softmax cross-entropy of `logits` [N, K] against integer `labels` (0..<K), with optional label smoothing ε
/// (PyTorch's `cross_entropy(label_smoothing=ε)`: target (1 − ε)·onehot + ε/K). Returns the loss and the
/// log-probabilities the backward pass reuses.
public func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing: Float = 0)
    -> (loss: Float, logProbabilities: Tensor) {
    precondition(logits.rank == 2, "crossEntropy: logits must be [N, K], got \(logits.shape)")
    let n = logits.shape[0], k = logits.shape[1]
    precondition(labels.count == n, "crossEntropy: \(labels.count) labels for \(n) rows")
    precondition(labels.allSatisfy { (0..<k).contains($0) }, "crossEntropy: a label is outside 0..<\(k)")
    let logp = logSoftmaxLastDim(logits)
    var total = 0.0
    logp.withUnsafeBufferPointer { p in
        for r in 0..<n {
            let row = p.baseAddress! + r * k
            var rowLoss = -Double(row[labels[r]]) * Double(1 - labelSmoothing)
            if labelSmoothing != 0 { rowLoss -= Double(labelSmoothing) / Double(k) * sumFloats(row, k) }
            total += rowLoss
        }
    }
    return (Float(total / Double(max(1, n))), logp)
}

/// Gradient of the mean cross-entropy with respect to the logits, scaled by the loss's own gradient `g`:
/// (softmax − target)·g/N per row, target = (1 − ε)·onehot + ε/K.
public func crossEntropyBackward(logProbabilities logp: Tensor, labels: [Int], labelSmoothing: Float = 0,
                                 gradLoss g: Float) -> Tensor {
    let n = logp.shape[0], k = logp.shape[1]
    let factor = g / Float(max(1, n)), uniform = labelSmoothing / Float(k), hit = 1 - labelSmoothing
    return Tensor(shape: logp.shape) { out in
        guard let po = out.baseAddress, n > 0 else { return }
        logp.withUnsafeBufferPointer { p in
            for r in 0..<n {
                let row = p.baseAddress! + r * k, o = po + r * k
                for i in 0..<k { o[i] = (expf(row[i]) - uniform) * factor }
                o[labels[r]] -= hit * factor
            }
        }
    }
}
