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

    let colSize = direct ? 0 : k * plane
    return Tensor(shape: [n, o, ho, wo]) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                // Sample b: im2col into `col` (unless direct), then the GEMM onto its bias-filled output.
                func convolveSample(_ b: Int, _ col: UnsafeMutablePointer<Float>, parallel: Bool) {
                    let src = px.baseAddress! + b * c * h * w
                    if !direct { geometry.unfold(src, into: col, parallel: parallel) }
                    let dst = po + b * o * plane
                    fillChannelBias(dst, bias: bias, channels: o, plane: plane, parallel: parallel)
                    sgemm(m: o, n: plane, k: k, a: pw.baseAddress!, b: direct ? src : UnsafePointer(col),
                          beta: bias == nil ? 0 : 1, c: dst)
                }
                // Whole samples per worker with single-threaded GEMMs while every worker gets one; the
                // remainder (and batches smaller than the worker count) split each sample across threads.
                let workers = Runtime.threads
                let spread = workers > 1 ? n / workers * workers : 0
                if spread > 0 {
                    forEachTask(spread, scratch: colSize) { b, col in convolveSample(b, col, parallel: false) }
                }
                if spread < n {
                    let col = UnsafeMutablePointer<Float>.allocate(capacity: max(1, colSize))
                    defer { col.deallocate() }
                    for b in spread..<n { convolveSample(b, col, parallel: true) }
                }
            }
        }
    }
}

/// Writes bias[c] over every plane of one sample's [C, plane] output for the GEMM to accumulate onto
/// (without a bias the GEMM overwrites instead, beta = 0).
func fillChannelBias(_ out: UnsafeMutablePointer<Float>, bias: Tensor?, channels: Int, plane: Int, parallel: Bool) {
    guard let bias else { return }
    bias.withUnsafeBufferPointer { pb in
        let fill = { (i: Int) in (out + i * plane).update(repeating: pb[i], count: plane) }
        if parallel {
            parallelFor(channels, grain: max(1, 16384 / max(1, plane)), fill)
        } else {
            for i in 0..<channels { fill(i) }
        }
    }
}

/// The im2col lowering of one sample: row (ci, ky, kx) of the [C·kh·kw, Ho·Wo] matrix holds the input pixels
/// that kernel tap sees at every output position, zeros where it falls into the padding.
struct Im2Col {
    let channels, height, width, kh, kw, stride, padding, outHeight, outWidth: Int

    /// Fills the packed [C·kh·kw, Ho·Wo] matrix at `col` from one CHW sample, channels in parallel or not.
    func unfold(_ src: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        if !parallel {
            for ci in 0..<channels { unfoldChannel(ci, src, col) }
            return
        }
        parallelFor(channels) { ci in unfoldChannel(ci, src, col) }
    }

    /// The kh·kw rows of input channel `ci`.
    @inline(__always)
    private func unfoldChannel(_ ci: Int, _ src: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>) {
        let chan = src + ci * height * width
        let plane = outHeight * outWidth
        for ky in 0..<kh {
            for kx in 0..<kw {
                let row = col + ((ci * kh + ky) * kw + kx) * plane
                // Output columns whose input column ox·stride − padding + kx lies inside [0, width).
                let shift = kx - padding
                let lo = min(outWidth, max(0, ceilDiv(-shift, stride)))
                let hi = max(lo, min(outWidth, floorDiv(width - 1 - shift, stride) + 1))
                if stride == 1 && outWidth == width {
                    shiftedCopy(chan, row, ky: ky, shift: shift, lo: lo, hi: hi)
                    continue
                }
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

    /// One tap of a stride-1 convolution whose output rows are as wide as the input's ("same" padding): its
    /// valid rows are a single shifted copy of the channel, after which only the columns that wrapped in
    /// from neighbouring rows are zeroed. Saves the per-row calls that dominate on small feature maps.
    @inline(__always)
    private func shiftedCopy(_ chan: UnsafePointer<Float>, _ row: UnsafeMutablePointer<Float>, ky: Int, shift: Int,
                             lo: Int, hi: Int) {
        let w = width
        let oy0 = min(outHeight, max(0, padding - ky)), oy1 = max(oy0, min(outHeight, height + padding - ky))
        row.update(repeating: 0, count: oy0 * w)
        (row + oy1 * w).update(repeating: 0, count: (outHeight - oy1) * w)
        guard oy1 > oy0 else { return }
        var s = (oy0 - padding + ky) * w + shift, d = oy0 * w, count = (oy1 - oy0) * w
        // The first |shift| or last `shift` elements would lie outside the channel; they are wrapped
        // columns, zeroed below.
        if s < 0 { d -= s; count += s; s = 0 }
        count = min(count, height * w - s)
        if count > 0 { (row + d).update(from: chan + s, count: count) }
        for oy in oy0..<oy1 {
            let r = row + oy * w
            for j in 0..<lo { r[j] = 0 }
            for j in hi..<w { r[j] = 0 }
        }
    }
}

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
