import TweedieCore

// Per-channel helpers of the model layers (ResnetBlock2D's scale/shift conditioning, residual sums divided by an
// output scale factor). Each is one pass over the output, threaded over (sample, channel) planes.

/// x [N, C, H, W] * (1 + scale) + shift with scale/shift [N, C]: the "scale_shift" time conditioning of
/// ResnetBlock2D.
public func scaleShiftChannels(_ x: Tensor, scale: Tensor, shift: Tensor) -> Tensor {
    precondition(x.rank == 4, "scaleShiftChannels: NCHW expected, got \(x.shape)")
    let n = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
    precondition(scale.count == n * c && shift.count == n * c, "scaleShiftChannels: [N, C] scale/shift expected")
    return Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { src in
            scale.withUnsafeBufferPointer { sc in
                shift.withUnsafeBufferPointer { sh in
                    let s = src.baseAddress!, o = out.baseAddress!, scp = sc.baseAddress!, shp = sh.baseAddress!
                    parallelFor(n * c, grain: max(1, 16_384 / max(plane, 1))) { i in
                        let a = 1 + scp[i], b = shp[i], base = i * plane
                        for j in 0..<plane { o[base + j] = s[base + j] * a + b }
                    }
                }
            }
        }
    }
}

/// (a + b) / divisor for two tensors of the same shape, in one pass: diffusers' residual sums divided by
/// `output_scale_factor` / `rescale_output_factor`.
public func addDivided(_ a: Tensor, _ b: Tensor, divisor: Float) -> Tensor {
    precondition(a.shape == b.shape, "addDivided: shapes \(a.shape) and \(b.shape) differ")
    if divisor == 1 { return add(a, b) }
    let count = a.count
    return Tensor(shape: a.shape) { out in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let x = pa.baseAddress!, y = pb.baseAddress!, o = out.baseAddress!
                let chunk = 16_384
                parallelFor((count + chunk - 1) / chunk) { c in
                    for i in (c * chunk)..<min(count, (c + 1) * chunk) { o[i] = (x[i] + y[i]) / divisor }
                }
            }
        }
    }
}
