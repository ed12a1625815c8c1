import TweedieCore

// Fused elementwise combinations the samplers need: one pass, one allocation, no temporaries.

/// a*ca + b*cb
public func lincomb(_ a: Tensor, _ ca: Float, _ b: Tensor, _ cb: Float) -> Tensor {
    precondition(a.shape == b.shape, "lincomb: shapes \(a.shape) and \(b.shape) differ")
    return Tensor(shape: a.shape) { out in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<out.count { out[i] = pa[i] * ca + pb[i] * cb }
            }
        }
    }
}

/// a*ca + b*cb + c*cc
public func lincomb(_ a: Tensor, _ ca: Float, _ b: Tensor, _ cb: Float, _ c: Tensor, _ cc: Float) -> Tensor {
    precondition(a.shape == b.shape && a.shape == c.shape, "lincomb: shapes \(a.shape), \(b.shape), \(c.shape) differ")
    return Tensor(shape: a.shape) { out in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeBufferPointer { pc in
                    for i in 0..<out.count { out[i] = pa[i] * ca + pb[i] * cb + pc[i] * cc }
                }
            }
        }
    }
}

/// The ODE derivative (x - denoised) / sigma (k-diffusion's to_d).
public func derivative(_ x: Tensor, _ denoised: Tensor, sigma: Float) -> Tensor {
    lincomb(x, 1 / sigma, denoised, -1 / sigma)
}

/// Splits a batch tensor [N, ...] into its first `n` samples and the rest.
func splitBatch(_ x: Tensor, first n: Int) -> (Tensor, Tensor) {
    let per = x.count / max(1, x.shape[0])
    var s1 = x.shape, s2 = x.shape
    s1[0] = n; s2[0] = x.shape[0] - n
    return (Tensor(shape: s1, data: Array(x.data[0..<(n * per)])),
            Tensor(shape: s2, data: Array(x.data[(n * per)...])))
}

/// Stacks two batch tensors along the batch axis.
func stackBatch(_ a: Tensor, _ b: Tensor) -> Tensor {
    var s = a.shape
    s[0] += b.shape[0]
    return Tensor(shape: s, data: a.data + b.data)
}

/// x * s
func scaled(_ x: Tensor, _ s: Float) -> Tensor {
    Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { p in for i in 0..<out.count { out[i] = p[i] * s } }
    }
}
