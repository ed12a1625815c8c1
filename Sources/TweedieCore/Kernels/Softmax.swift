/// Softmax over the last dimension, numerically stable (the row maximum is subtracted before exponentiating).
public func softmaxLastDim(_ x: Tensor) -> Tensor {
    precondition(x.rank >= 1, "softmaxLastDim: input must have at least one dimension")
    return mapRows(x, softmaxRow)
}

/// Applies `row(src, dst, d)` to every row of the last dimension (length d) of `x`, threaded over rows.
@inline(__always)
func mapRows(_ x: Tensor, _ row: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
    let d = x.shape.last ?? 1, rows = d == 0 ? 0 : x.count / d
    return Tensor(shape: x.shape) { out in
        guard let po = out.baseAddress, rows > 0 else { return }
        x.withUnsafeBufferPointer { px in
            parallelFor(rows, grain: max(1, 8192 / d)) { r in row(px.baseAddress! + r * d, po + r * d, d) }
        }
    }
}

/// Softmax of one row of `n ≥ 1` floats from `src` into `dst` (which may be the same memory).
@inline(__always)
func softmaxRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = maxFloats(src, n)
    // Infinite entries would turn x − max into NaN; such rows are left unshifted instead.
    let shift = m.isFinite ? m : 0
    // Exponentials first (a loop the vectoriser widens), then their sum while the row is still in cache.
    for i in 0..<n { dst[i] = expApprox(src[i] - shift) }
    let inv = Float(1 / sumFloats(UnsafePointer(dst), n))
    for i in 0..<n { dst[i] *= inv }
}
