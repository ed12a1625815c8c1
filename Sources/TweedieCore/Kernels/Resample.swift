/// Nearest-neighbour 2× upsampling of an NCHW tensor: every pixel becomes a 2×2 block.
public func upsampleNearest2x(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "upsampleNearest2x: input must be NCHW, got \(x.shape)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return Tensor(shape: [n, c, 2 * h, 2 * w]) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            parallelFor(n * c, grain: max(1, 16384 / max(1, h * w))) { plane in
                let src = px.baseAddress! + plane * h * w
                let dst = po + plane * 4 * h * w
                for y in 0..<h {
                    let row = dst + 2 * y * 2 * w
                    for xx in 0..<w {
                        let v = src[y * w + xx]
                        row[2 * xx] = v
                        row[2 * xx + 1] = v
                    }
                    (row + 2 * w).update(from: row, count: 2 * w)
                }
            }
        }
    }
}

/// Average pooling over non-overlapping kernel×kernel windows (stride = kernel, no padding) of an NCHW
/// tensor; trailing rows/columns that do not fill a window are dropped, as in PyTorch's default floor mode.
public func avgPool2d(_ x: Tensor, kernel: Int = 2) -> Tensor {
    precondition(x.rank == 4, "avgPool2d: input must be NCHW, got \(x.shape)")
    precondition(kernel >= 1, "avgPool2d: kernel \(kernel)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let ho = h / kernel, wo = w / kernel
    let inv = 1 / Float(kernel * kernel)
    return Tensor(shape: [n, c, ho, wo]) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            parallelFor(n * c, grain: max(1, 16384 / max(1, h * w))) { plane in
                let src = px.baseAddress! + plane * h * w
                let dst = po + plane * ho * wo
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var s: Float = 0
                        for ky in 0..<kernel {
                            let row = src + (oy * kernel + ky) * w + ox * kernel
                            for kx in 0..<kernel { s += row[kx] }
                        }
                        dst[oy * wo + ox] = s * inv
                    }
                }
            }
        }
    }
}
