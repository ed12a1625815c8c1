import TweedieCore

/// Global-norm gradient clipping as `torch.nn.utils.clip_grad_norm_` (L2): the norm over all gradients together;
/// when it exceeds `maxNorm`, every gradient is scaled by maxNorm / (norm + 1e-6). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: inout [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for g in gradients {
        total += g.withUnsafeBufferPointer { p in
            var s: Float = 0
            for x in p { s += x * x }
            return Double(s)
        }
    }
    let norm = Float(total.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for i in gradients.indices {
            gradients[i].withUnsafeMutableBufferPointer { p in for j in 0..<p.count { p[j] *= coefficient } }
        }
    }
    return norm
}
