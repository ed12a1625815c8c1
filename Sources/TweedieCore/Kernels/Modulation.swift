/// Adds a per-channel bias to x [N, C, H, W]: `b` is [N, C] (one vector per sample, e.g. a projected time
/// embedding) or [C] (shared by all samples).
public func addChannelBias(_ x: Tensor, _ b: Tensor) -> Tensor {
    precondition(x.rank == 4, "addChannelBias: input must be NCHW, got \(x.shape)")
    let (n, c) = (x.shape[0], x.shape[1])
    let plane = x.shape[2] * x.shape[3]
    let perSample = b.count == n * c && b.rank == 2
    precondition(perSample || b.count == c, "addChannelBias: bias \(b.shape) fits neither [\(n), \(c)] nor [\(c)]")
    return Tensor(shape: x.shape) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            b.withUnsafeBufferPointer { pb in
                parallelFor(n * c, grain: max(1, 16384 / max(1, plane))) { i in
                    let v = pb[perSample ? i : i % c]
                    let src = px.baseAddress! + i * plane, dst = po + i * plane
                    for j in 0..<plane { dst[j] = src[j] + v }
                }
            }
        }
    }
}

/// adaLN modulation of tokens: x [N, L, C] with shift and scale [N, C] gives x · (1 + scale) + shift,
/// each sample with its own vectors.
public func modulate(_ x: Tensor, shift: Tensor, scale: Tensor) -> Tensor {
    let (n, l, c) = tokenShape(x, "modulate")
    precondition(shift.count == n * c && scale.count == n * c,
                 "modulate: shift \(shift.shape) and scale \(scale.shape) must be [\(n), \(c)]")
    // (1 + scale) once per sample rather than once per token.
    let factor = scale.data.map { 1 + $0 }
    return Tensor(shape: x.shape) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            shift.withUnsafeBufferPointer { ps in
                factor.withUnsafeBufferPointer { pf in
                    parallelFor(n * l, grain: max(1, 16384 / max(1, c))) { row in
                        let b = row / l
                        let src = px.baseAddress! + row * c, dst = po + row * c
                        let f = pf.baseAddress! + b * c, s = ps.baseAddress! + b * c
                        for j in 0..<c { dst[j] = src[j] * f[j] + s[j] }
                    }
                }
            }
        }
    }
}

/// Gated residual branch: x [N, L, C] times g [N, C], each sample's gate applied to all of its tokens.
public func gate(_ x: Tensor, _ g: Tensor) -> Tensor {
    let (n, l, c) = tokenShape(x, "gate")
    precondition(g.count == n * c, "gate: gate \(g.shape) must be [\(n), \(c)]")
    return Tensor(shape: x.shape) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            g.withUnsafeBufferPointer { pg in
                parallelFor(n * l, grain: max(1, 16384 / max(1, c))) { row in
                    let src = px.baseAddress! + row * c, dst = po + row * c
                    let gv = pg.baseAddress! + (row / l) * c
                    for j in 0..<c { dst[j] = src[j] * gv[j] }
                }
            }
        }
    }
}

/// x [N, L, D] + rows [L, D] broadcast over the batch (positional embeddings).
public func addRows(_ x: Tensor, _ rows: Tensor) -> Tensor {
    precondition(x.rank == 3 && rows.shape == [x.shape[1], x.shape[2]],
                 "addRows: [N, L, D] and [L, D] expected, got \(x.shape) and \(rows.shape)")
    let n = x.shape[0], ld = rows.count
    return Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { src in
            rows.withUnsafeBufferPointer { r in
                let s = src.baseAddress!, o = out.baseAddress!, rp = r.baseAddress!
                parallelFor(n) { b in
                    let base = b * ld
                    for j in 0..<ld { o[base + j] = s[base + j] + rp[j] }
                }
            }
        }
    }
}

/// [N, L, C] of a token tensor, checked.
func tokenShape(_ x: Tensor, _ op: String) -> (Int, Int, Int) {
    precondition(x.rank == 3, "\(op): input must be [N, L, C], got \(x.shape)")
    return (x.shape[0], x.shape[1], x.shape[2])
}
