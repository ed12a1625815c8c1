import TweedieCore

// Small layout and broadcast helpers the model layers need beyond TweedieCore's kernels. Each is one pass over
// the output, threaded over (sample, channel) planes.

/// x [N, C, H, W] * (1 + scale) + shift with scale/shift [N, C]: the "scale_shift" time conditioning of
/// ResnetBlock2D.
func scaleShiftChannels(_ x: Tensor, scale: Tensor, shift: Tensor) -> Tensor {
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

/// Zero-pads the bottom row and right column of x [N, C, H, W] by one: the (0, 1, 0, 1) pad diffusers'
/// Downsample2D applies before a stride-2 convolution with padding 0.
func padBottomRight(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "padBottomRight: NCHW expected, got \(x.shape)")
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    let ho = h + 1, wo = w + 1
    return Tensor(shape: [n, c, ho, wo]) { out in
        x.withUnsafeBufferPointer { src in
            let s = src.baseAddress!, o = out.baseAddress!
            parallelFor(n * c, grain: max(1, 16_384 / max(h * w, 1))) { p in
                let si = p * h * w, oi = p * ho * wo
                for y in 0..<h {
                    let row = o + oi + y * wo
                    row.update(from: s + si + y * w, count: w)
                    row[w] = 0
                }
                (o + oi + h * wo).update(repeating: 0, count: wo)
            }
        }
    }
}

/// (a + b) / divisor for two tensors of the same shape, in one pass: diffusers' residual sums divided by
/// `output_scale_factor` / `rescale_output_factor`.
func addDivided(_ a: Tensor, _ b: Tensor, divisor: Float) -> Tensor {
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
