/// 2-D convolution, NCHW. `weight` is [O, I, kh, kw] (PyTorch layout), `bias` is [O]; zero padding on
/// all four sides. Returns [N, O, Ho, Wo] with Ho = (H + 2·padding − kh) / stride + 1.
/// Runs on `ConvolutionBackend.current`: oneDNN's primitives (in `ComputePrecision.current`), or im2col + one
/// sgemm per sample (1×1 stride-1 unpadded convolutions skip im2col). `constantWeights` promises that `weight` is not being trained, so oneDNN may
/// keep its reordered copy across calls.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0,
                   constantWeights: Bool = false) -> Tensor {
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

    if ConvolutionBackend.current == .oneDNN, n > 0 {
        let shape = ConvolutionShape(batch: n, channels: c, height: h, width: w, outChannels: o, kh: kh, kw: kw,
                                     stride: stride, padding: padding, hasBias: bias != nil,
                                     precision: ComputePrecision.current)
        var done = false
        let y = Tensor(shape: [n, o, ho, wo]) { out in
            x.withUnsafeBufferPointer { px in
                withOptionalPointer(bias) { pb in
                    done = OneDNNConvolutions.convolve(shape, x: px.baseAddress!, weight: weight.data,
                                                       constantWeights: constantWeights, bias: pb,
                                                       out: out.baseAddress!)
                    if done { FlopCounter.add(2 * o * plane * k * n) } else { out.initialize(repeating: 0) }
                }
            }
        }
        if done { return y }
    }
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
