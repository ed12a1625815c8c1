/// Group normalisation over x [N, C, ...]: channels split into `groups` contiguous groups, each (sample, group)
/// normalised by its own mean and biased variance, then scaled by `weight` [C] and shifted by `bias` [C].
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    precondition(x.rank >= 2, "groupNorm: input must be [N, C, ...], got \(x.shape)")
    let n = x.shape[0], c = x.shape[1]
    precondition(groups > 0 && c % groups == 0, "groupNorm: \(c) channels do not split into \(groups) groups")
    if let weight { precondition(weight.count == c, "groupNorm: weight \(weight.shape) for \(c) channels") }
    if let bias { precondition(bias.count == c, "groupNorm: bias \(bias.shape) for \(c) channels") }
    let spatial = x.shape.dropFirst(2).reduce(1, *)
    let perGroup = c / groups
    let blockCount = perGroup * spatial

    return Tensor(shape: x.shape) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            withOptionalPointers(weight, bias) { pw, pb in
                parallelFor(n * groups) { task in
                    let group = task % groups
                    let offset = task * blockCount
                    let m = moments(px.baseAddress! + offset, blockCount, eps: eps)
                    for j in 0..<perGroup {
                        let ch = group * perGroup + j
                        // Normalisation and affine folded into one subtract and multiply-add per element.
                        let a = (pw?[ch] ?? 1) * m.rstd
                        let b = (pb?[ch] ?? 0) - m.residual * a
                        let at = offset + j * spatial
                        centredAffine(px.baseAddress! + at, po + at, spatial, m.centre, a, b)
                    }
                }
            }
        }
    }
}

/// Layer normalisation over the last dimension of x [..., D], with optional `weight` [D] and `bias` [D].
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    precondition(x.rank >= 1, "layerNorm: input must have at least one dimension")
    let d = x.shape[x.rank - 1]
    if let weight { precondition(weight.count == d, "layerNorm: weight \(weight.shape) for last dimension \(d)") }
    if let bias { precondition(bias.count == d, "layerNorm: bias \(bias.shape) for last dimension \(d)") }
    let rows = d == 0 ? 0 : x.count / d

    return Tensor(shape: x.shape) { out in
        guard let po = out.baseAddress, rows > 0 else { return }
        x.withUnsafeBufferPointer { px in
            withOptionalPointers(weight, bias) { pw, pb in
                parallelFor(rows, grain: max(1, 8192 / d)) { row in
                    let src = px.baseAddress! + row * d, dst = po + row * d
                    let m = moments(src, d, eps: eps)
                    let (c, r, shift) = (m.centre, m.rstd, -m.residual * m.rstd)
                    switch (pw, pb) {
                    case let (w?, b?):
                        for i in 0..<d { dst[i] = ((src[i] - c) * r + shift) * w[i] + b[i] }
                    case let (w?, nil):
                        for i in 0..<d { dst[i] = ((src[i] - c) * r + shift) * w[i] }
                    case let (nil, b?):
                        for i in 0..<d { dst[i] = (src[i] - c) * r + shift + b[i] }
                    case (nil, nil):
                        centredAffine(src, dst, d, c, r, shift)
                    }
                }
            }
        }
    }
}

/// Statistics of a block for y = (x − centre)·a + b. The mean is split into a Float `centre` plus a small
/// `residual`: x − centre is exact for x near the mean, so outputs keep full precision even when the mean is
/// far larger than the spread (a plain x·a + b would cancel away the low digits).
struct Moments {
    var centre: Float
    var residual: Float
    var rstd: Float
}

/// Mean and 1/sqrt(biased variance + eps) of `count` floats in two passes (mean, then squared deviations).
func moments(_ p: UnsafePointer<Float>, _ count: Int, eps: Float) -> Moments {
    guard count > 0 else { return Moments(centre: 0, residual: 0, rstd: 1 / eps.squareRoot()) }
    let mean = meanFloats(p, count)
    let centre = Float(mean)
    let residual = mean - Double(centre)
    let variance = max(0, sumSquaredDeviations(p, count, mean: centre) / Double(count) - residual * residual)
    return Moments(centre: centre, residual: Float(residual), rstd: Float(1 / (variance + Double(eps)).squareRoot()))
}

/// Calls `body` with the element pointer of an optional tensor (nil when absent).
func withOptionalPointer<R>(_ t: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let t else { return body(nil) }
    return t.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Calls `body` with the element pointers of two optional tensors (nil where the tensor is absent).
func withOptionalPointers<R>(_ a: Tensor?, _ b: Tensor?,
                             _ body: (UnsafePointer<Float>?, UnsafePointer<Float>?) -> R) -> R {
    withOptionalPointer(a) { pa in withOptionalPointer(b) { pb in body(pa, pb) } }
}
