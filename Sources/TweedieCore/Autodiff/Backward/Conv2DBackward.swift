/// Gradients of `conv2d(x, weight:, bias:, stride:, padding:)` given dL/dy, per sample through the patch matrix:
/// dW = Σ_n dY_n · im2col(x_n)ᵀ, dx_n = col2im(Wᵀ · dY_n), db = Σ_{n,h,w} dY. Only requested gradients are computed.
/// `x` [N, I, H, W], `weight` [O, I, kh, kw], `gradOutput` [N, O, Ho, Wo].
public func conv2dBackward(gradOutput dy: Tensor, input x: Tensor, weight w: Tensor, stride: Int = 1,
                           padding: Int = 0, needInput: Bool = true, needWeight: Bool = true,
                           needBias: Bool = true) -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    precondition(x.rank == 4 && w.rank == 4 && dy.rank == 4 && w.shape[1] == x.shape[1],
                 "conv2dBackward: input \(x.shape), weight \(w.shape), gradient \(dy.shape)")
    let n = x.shape[0], outC = w.shape[0]
    let g = Patches.Geometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                             kernelH: w.shape[2], kernelW: w.shape[3], stride: stride, padding: padding,
                             outH: dy.shape[2], outW: dy.shape[3])
    precondition(dy.shape[0] == n && dy.shape[1] == outC
                 && g.outH == (g.height + 2 * padding - g.kernelH) / stride + 1
                 && g.outW == (g.width + 2 * padding - g.kernelW) / stride + 1,
                 "conv2dBackward: gradient \(dy.shape) does not match input \(x.shape) and weight \(w.shape)")
    // A 1×1, stride-1, unpadded convolution is a plain GEMM: the patch matrix is the input itself.
    let pointwise = g.kernelH == 1 && g.kernelW == 1 && stride == 1 && padding == 0
    let inPlane = g.channels * g.height * g.width, outPlane = outC * g.cols
    var gx: Tensor? = needInput ? Tensor(shape: x.shape) : nil
    var gw: Tensor? = needWeight ? Tensor(shape: w.shape) : nil
    var col = [Float](repeating: 0, count: pointwise || (!needInput && !needWeight) ? 0 : g.rows * g.cols)
    dy.withUnsafeBufferPointer { pdy in
        x.withUnsafeBufferPointer { px in
            w.withUnsafeBufferPointer { pw in
                col.withUnsafeMutableBufferPointer { pcol in
                    for s in 0..<n {
                        let dyS = pdy.baseAddress! + s * outPlane, xS = px.baseAddress! + s * inPlane
                        if needWeight {
                            let patches: UnsafePointer<Float>
                            if pointwise { patches = xS } else {
                                Patches.unfold(xS, g, into: pcol.baseAddress!)
                                patches = UnsafePointer(pcol.baseAddress!)
                            }
                            gw!.withUnsafeMutableBufferPointer { pgw in
                                sgemm(transB: true, m: outC, n: g.rows, k: g.cols, a: dyS, b: patches,
                                      beta: s == 0 ? 0 : 1, c: pgw.baseAddress!)
                            }
                        }
                        if needInput {
                            gx!.withUnsafeMutableBufferPointer { pgx in
                                let dxS = pgx.baseAddress! + s * inPlane
                                if pointwise {
                                    sgemm(transA: true, m: g.rows, n: g.cols, k: outC, a: pw.baseAddress!, b: dyS,
                                          c: dxS)
                                } else {
                                    sgemm(transA: true, m: g.rows, n: g.cols, k: outC, a: pw.baseAddress!, b: dyS,
                                          c: pcol.baseAddress!)
                                    Patches.fold(pcol.baseAddress!, g, into: dxS)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    var gb: Tensor?
    if needBias {
        gb = Tensor(shape: [outC]) { out in
            dy.withUnsafeBufferPointer { pdy in
                GradLoops.tasks(outC, work: n * g.cols) { o in
                    var total = 0.0
                    for s in 0..<n { total += GradLoops.sum(pdy.baseAddress! + s * outPlane + o * g.cols, g.cols) }
                    out[o] = Float(total)
                }
            }
        }
    }
    return (gx, gw, gb)
}
