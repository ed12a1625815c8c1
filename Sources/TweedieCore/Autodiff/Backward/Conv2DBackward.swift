/// Gradients of `conv2d(x, weight:, bias:, stride:, padding:)` given dL/dy, per sample through the patch matrix:
/// dW = Σ_n dY_n · im2col(x_n)ᵀ, dx_n = col2im(Wᵀ · dY_n) (for stride 1: dY convolved with the flipped kernel),
/// db = Σ_{n,h,w} dY. Only requested gradients are computed.
/// `x` [N, I, H, W], `weight` [O, I, kh, kw], `gradOutput` [N, O, Ho, Wo].
public func conv2dBackward(gradOutput dy: Tensor, input x: Tensor, weight w: Tensor, stride: Int = 1,
                           padding: Int = 0, needInput: Bool = true, needWeight: Bool = true,
                           needBias: Bool = true) -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    conv2dGradients(dy, input: needWeight ? x : nil, inputShape: x.shape, weight: needInput ? w : nil,
                    weightShape: w.shape, stride: stride, padding: padding, needBias: needBias)
}

/// `conv2dBackward` with each operand present only when the other operand's gradient needs it (the input for dW,
/// the weight for dx), so a pullback keeps nothing it will not use.
func conv2dGradients(_ dy: Tensor, input x: Tensor?, inputShape: [Int], weight w: Tensor?, weightShape: [Int],
                     stride: Int, padding: Int, needBias: Bool) -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    precondition(inputShape.count == 4 && weightShape.count == 4 && dy.rank == 4 && weightShape[1] == inputShape[1],
                 "conv2dBackward: input \(inputShape), weight \(weightShape), gradient \(dy.shape)")
    let n = inputShape[0], outC = weightShape[0]
    let needInput = w != nil, needWeight = x != nil
    let g = Im2Col(channels: inputShape[1], height: inputShape[2], width: inputShape[3],
                   kh: weightShape[2], kw: weightShape[3], stride: stride, padding: padding,
                   outHeight: dy.shape[2], outWidth: dy.shape[3])
    precondition(dy.shape[0] == n && dy.shape[1] == outC
                 && g.outHeight == (g.height + 2 * padding - g.kh) / stride + 1
                 && g.outWidth == (g.width + 2 * padding - g.kw) / stride + 1,
                 "conv2dBackward: gradient \(dy.shape) does not match input \(inputShape) and weight \(weightShape)")
    // A 1×1, stride-1, unpadded convolution is a plain GEMM: the patch matrix is the input itself.
    let pointwise = g.kh == 1 && g.kw == 1 && stride == 1 && padding == 0
    let inPlane = g.channels * g.height * g.width, outPlane = outC * g.cols
    // A stride-1 convolution's input gradient is itself a convolution: dY correlated with the kernel flipped in
    // space and transposed in channels, padded by k − 1 − p. That runs on the forward kernel (an im2col copy of
    // dY and a GEMM shaped like the forward's) instead of Wᵀ·dY into a kh·kw times larger patch matrix plus its
    // col2im, which took over half of a U-Net's backward pass.
    let asConvolution = needInput && !pointwise && stride == 1 && g.kh == g.kw && padding <= g.kh - 1
    let convolved = asConvolution ? conv2d(dy, weight: flippedTransposed(w!), bias: nil, padding: g.kh - 1 - padding)
                                  : nil
    let w = asConvolution ? nil : w
    var gx: Tensor? = w == nil ? nil : Tensor(shape: inputShape)
    // dW (and db) through oneDNN's weights-gradient kernel where it has one; im2col + GEMM below otherwise.
    let fused = needWeight && ConvolutionBackend.current == .oneDNN && n > 0
        ? oneDNNWeightsGradient(dy, input: x!, weightShape: weightShape, stride: stride, padding: padding,
                                needBias: needBias) : nil
    let x = fused == nil ? x : nil, loopWeight = x != nil
    var gw: Tensor? = loopWeight ? Tensor(shape: weightShape) : nil
    let colSize = pointwise || (w == nil && !loopWeight) ? 0 : g.rows * g.cols
    // Like the forward: with several threads, contiguous groups of samples go to workers whose GEMMs run
    // single-threaded (per-sample GEMMs are too small to split well), each group summing its own dW; the
    // partial dWs are then added in group order. One group (one thread or one sample) threads inside instead.
    // Each group sums dWᵀ = Σ im2col(x)·dYᵀ [C·kh·kw, O], transposed once at the end: that operand order ran
    // 1.2-1.6x faster in OpenBLAS than dY·im2col(x)ᵀ on U-Net shapes (few output channels, long planes).
    let groups = max(1, min(n, Runtime.threads))
    let weightCount = weightShape.reduce(1, *)
    var partials = [Float](repeating: 0, count: loopWeight ? groups * weightCount : 0)
    // With dW from oneDNN and dx from the flipped-kernel convolution, nothing is left for the per-sample loop.
    if loopWeight || w != nil { dy.withUnsafeBufferPointer { pdy in
        withOptionalPointer(x) { px in
            withOptionalPointer(w) { pw in
                withOptionalMutablePointer(&gx) { pgx in
                    withOptionalMutablePointer(&gw) { pgw in
                        partials.withUnsafeMutableBufferPointer { ppart in
                            forEachTask(groups, scratch: colSize) { group, col in
                                let dWT = pgw.map { _ in ppart.baseAddress! + group * weightCount }
                                for s in (group * n / groups)..<((group + 1) * n / groups) {
                                    let dyS = pdy.baseAddress! + s * outPlane
                                    if let px, let dWT {
                                        let xS = px + s * inPlane
                                        let patches: UnsafePointer<Float>
                                        if pointwise { patches = xS } else {
                                            g.unfold(xS, into: col, parallel: groups == 1)
                                            patches = UnsafePointer(col)
                                        }
                                        sgemm(transB: true, m: g.rows, n: outC, k: g.cols, a: patches, b: dyS,
                                              beta: s == group * n / groups ? 0 : 1, c: dWT)
                                    }
                                    if let pw, let pgx {
                                        let dxS = pgx + s * inPlane
                                        if pointwise {
                                            sgemm(transA: true, m: g.rows, n: g.cols, k: outC, a: pw, b: dyS, c: dxS)
                                        } else {
                                            sgemm(transA: true, m: g.rows, n: g.cols, k: outC, a: pw, b: dyS, c: col)
                                            g.fold(col, into: dxS, parallel: groups == 1)
                                        }
                                    }
                                }
                            }
                            if let pgw { sumTransposed(ppart.baseAddress!, groups, rows: g.rows, cols: outC, into: pgw) }
                        }
                    }
                }
            }
        }
    } }
    var gb: Tensor? = fused?.bias
    if let fused { gw = fused.weight }
    if needBias && gb == nil {
        gb = Tensor(shape: [outC]) { out in
            dy.withUnsafeBufferPointer { pdy in
                GradLoops.tasks(outC, work: n * g.cols) { o in
                    var total = 0.0
                    for s in 0..<n { total += sumFloats(pdy.baseAddress! + s * outPlane + o * g.cols, g.cols) }
                    out[o] = Float(total)
                }
            }
        }
    }
    return (convolved ?? gx, gw, gb)
}

/// dW (and db when `needBias`) from oneDNN's weights-gradient primitive, or nil when it has no kernel for the shape.
private func oneDNNWeightsGradient(_ dy: Tensor, input x: Tensor, weightShape: [Int], stride: Int, padding: Int,
                                   needBias: Bool) -> (weight: Tensor, bias: Tensor?)? {
    let shape = ConvolutionShape(batch: x.shape[0], channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                                 outChannels: weightShape[0], kh: weightShape[2], kw: weightShape[3], stride: stride,
                                 padding: padding, hasBias: needBias)
    var gw = Tensor(shape: weightShape), gb: Tensor? = needBias ? Tensor(shape: [weightShape[0]]) : nil
    let done = x.withUnsafeBufferPointer { px in
        dy.withUnsafeBufferPointer { pdy in
            gw.withUnsafeMutableBufferPointer { pw in
                withOptionalMutablePointer(&gb) { pb in
                    OneDNNConvolutions.weightsGradient(shape, x: px.baseAddress!, dy: pdy.baseAddress!,
                                                       dw: pw.baseAddress!, db: pb)
                }
            }
        }
    }
    guard done else { return nil }
    FlopCounter.add(2 * shape.outChannels * shape.outHeight * shape.outWidth * shape.channels * shape.kh * shape.kw
                    * shape.batch)
    return (gw, gb)
}

/// out[c, r] = Σ_k parts[k][r, c] over `count` row-major [rows, cols] matrices, summed in order k = 0, 1, ….
private func sumTransposed(_ parts: UnsafePointer<Float>, _ count: Int, rows: Int, cols: Int,
                           into out: UnsafeMutablePointer<Float>) {
    let size = rows * cols
    for c in 0..<cols {
        for r in 0..<rows {
            var v = parts[r * cols + c]
            for k in 1..<max(1, count) { v += parts[k * size + r * cols + c] }
            out[c * rows + r] = v
        }
    }
}

/// The kernel of a convolution's input gradient: [O, I, kh, kw] → [I, O, kh, kw], each tap rotated by 180°.
private func flippedTransposed(_ w: Tensor) -> Tensor {
    let (o, i, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    return Tensor(shape: [i, o, kh, kw]) { dst in
        w.withUnsafeBufferPointer { src in
            for a in 0..<o { for b in 0..<i { for y in 0..<kh { for x in 0..<kw {
                dst[((b * o + a) * kh + kh - 1 - y) * kw + kw - 1 - x] = src[((a * i + b) * kh + y) * kw + x]
            } } } }
        }
    }
}

/// Calls `body` with the mutable element pointer of an optional tensor (nil where it is absent).
private func withOptionalMutablePointer<R>(_ t: inout Tensor?, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
    guard var tensor = t else { return body(nil) }
    t = nil  // the only reference, so the write below does not copy
    defer { t = tensor }
    return tensor.withUnsafeMutableBufferPointer { body($0.baseAddress) }
}
