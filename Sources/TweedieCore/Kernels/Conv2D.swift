/// 2-D convolution, NCHW. `weight` is [O, I, kh, kw] (PyTorch layout), `bias` is [O]; zero padding on
/// all four sides. Returns [N, O, Ho, Wo] with Ho = (H + 2·padding − kh) / stride + 1.
/// Lowered to im2col + one sgemm per sample; 1×1 stride-1 unpadded convolutions skip im2col.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor {
    precondition(x.rank == 4, "conv2d: input must be NCHW, got \(x.shape)")
    precondition(weight.rank == 4, "conv2d: weight must be [O, I, kh, kw], got \(weight.shape)")
    precondition(stride >= 1 && padding >= 0, "conv2d: stride \(stride), padding \(padding)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
    precondition(weight.shape[1] == c, "conv2d: weight \(weight.shape) expects \(weight.shape[1]) input channels, got \(c)")
    if let bias { precondition(bias.count == o, "conv2d: bias \(bias.shape) for \(o) output channels") }
    let ho = (h + 2 * padding - kh) / stride + 1, wo = (w + 2 * padding - kw) / stride + 1
    precondition(ho > 0 && wo > 0, "conv2d: kernel \(kh)x\(kw) larger than padded input \(h)x\(w)")
    let plane = ho * wo, k = c * kh * kw
    let direct = kh == 1 && kw == 1 && stride == 1 && padding == 0
    let geometry = Im2Col(channels: c, height: h, width: w, kh: kh, kw: kw, stride: stride, padding: padding,
                          outHeight: ho, outWidth: wo)

    return Tensor(shape: [n, o, ho, wo]) { out in
        guard let po = out.baseAddress else { return }
        fillChannelBias(po, bias: bias, batch: n, channels: o, plane: plane)
        // Every element of the im2col matrix is written by `unfold`, so it starts uninitialised.
        var col = [Float](unsafeUninitializedCapacity: direct ? 0 : k * plane) { _, filled in
            filled = direct ? 0 : k * plane
        }
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                col.withUnsafeMutableBufferPointer { pcol in
                    for b in 0..<n {
                        let src = px.baseAddress! + b * c * h * w
                        let input: UnsafePointer<Float>
                        if direct {
                            input = src
                        } else {
                            geometry.unfold(src, into: pcol.baseAddress!)
                            input = UnsafePointer(pcol.baseAddress!)
                        }
                        sgemm(m: o, n: plane, k: k, a: pw.baseAddress!, b: input,
                              beta: bias == nil ? 0 : 1, c: po + b * o * plane)
                    }
                }
            }
        }
    }
}

/// Writes bias[c] over every [plane] of each sample, or zeros without a bias, so GEMMs can accumulate.
func fillChannelBias(_ out: UnsafeMutablePointer<Float>, bias: Tensor?, batch: Int, channels: Int, plane: Int) {
    guard let bias else { return }
    bias.withUnsafeBufferPointer { pb in
        parallelFor(batch * channels, grain: max(1, 4096 / max(1, plane))) { i in
            (out + i * plane).update(repeating: pb[i % channels], count: plane)
        }
    }
}

/// The im2col lowering of one sample: row (ci, ky, kx) of the [C·kh·kw, Ho·Wo] matrix holds the input pixels
/// that kernel tap sees at every output position, zeros where it falls into the padding.
struct Im2Col {
    let channels, height, width, kh, kw, stride, padding, outHeight, outWidth: Int

    /// Fills `col` ([C·kh·kw, Ho·Wo], packed) from one CHW sample; channels run in parallel.
    func unfold(_ src: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>) {
        let plane = outHeight * outWidth
        parallelFor(channels) { ci in
            let chan = src + ci * height * width
            for ky in 0..<kh {
                for kx in 0..<kw {
                    let row = col + ((ci * kh + ky) * kw + kx) * plane
                    // Output columns whose input column ox·stride − padding + kx lies inside [0, width).
                    let shift = kx - padding
                    let lo = min(outWidth, max(0, ceilDiv(-shift, stride)))
                    let hi = max(lo, min(outWidth, floorDiv(width - 1 - shift, stride) + 1))
                    for oy in 0..<outHeight {
                        let dst = row + oy * outWidth
                        let iy = oy * stride - padding + ky
                        if iy < 0 || iy >= height {
                            dst.update(repeating: 0, count: outWidth)
                            continue
                        }
                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                        if hi < outWidth { (dst + hi).update(repeating: 0, count: outWidth - hi) }
                        let line = chan + iy * width + shift
                        if stride == 1 {
                            (dst + lo).update(from: line + lo, count: hi - lo)
                        } else {
                            for ox in lo..<hi { dst[ox] = line[ox * stride] }
                        }
                    }
                }
            }
        }
    }
}

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
