/// Gradient of the bias in `addChannelBias(x, b)` (x [N, C, ...]): Σ of dy over each channel plane, per sample
/// when `biasShape` is [N, C], also over samples when it is [C]. The input gradient is dy itself.
public func channelBiasBackward(gradOutput dy: Tensor, biasShape: [Int]) -> Tensor {
    precondition(dy.rank >= 2, "channelBiasBackward: gradient must be [N, C, ...], got \(dy.shape)")
    let n = dy.shape[0], c = dy.shape[1], plane = dy.count / max(1, n * c)
    let perSample = biasShape.count == 2
    precondition(biasShape.reduce(1, *) == (perSample ? n * c : c),
                 "channelBiasBackward: bias \(biasShape) for gradient \(dy.shape)")
    return Tensor(shape: biasShape) { out in
        guard let po = out.baseAddress else { return }
        dy.withUnsafeBufferPointer { pd in
            GradLoops.tasks(perSample ? n * c : c, work: perSample ? plane : n * plane) { i in
                if perSample {
                    po[i] = Float(GradLoops.sum(pd.baseAddress! + i * plane, plane))
                } else {
                    var total = 0.0
                    for s in 0..<n { total += GradLoops.sum(pd.baseAddress! + (s * c + i) * plane, plane) }
                    po[i] = Float(total)
                }
            }
        }
    }
}

/// Runs `body(sample, columns)` over (sample, block of channels) tasks of a [N, L, C] tensor: each task owns its
/// channel columns of one sample, so per-(sample, channel) reductions over L never race.
func forEachChannelBlock(n: Int, l: Int, c: Int, _ body: (Int, Range<Int>) -> Void) {
    let block = 64
    let blocks = (c + block - 1) / block
    GradLoops.tasks(n * blocks, work: l * block) { t in
        let s = t / blocks, c0 = (t % blocks) * block
        body(s, c0..<min(c, c0 + block))
    }
}

/// Gradients of `modulate(x, shift:, scale:)` = x·(1 + scale) + shift (x [N, L, C], shift/scale [N, C]):
/// dx = dy·(1 + scale), dshift = Σ_L dy, dscale = Σ_L dy·x.
public func modulateBackward(gradOutput dy: Tensor, input x: Tensor, scale: Tensor)
    -> (input: Tensor, shift: Tensor, scale: Tensor) {
    precondition(x.rank == 3 && dy.shape == x.shape && scale.count == x.shape[0] * x.shape[2],
                 "modulateBackward: input \(x.shape), gradient \(dy.shape), scale \(scale.shape)")
    let (n, l, c) = (x.shape[0], x.shape[1], x.shape[2])
    var gx = [Float](repeating: 0, count: x.count)
    var gShift = [Float](repeating: 0, count: n * c), gScale = gShift
    x.withUnsafeBufferPointer { px in
        dy.withUnsafeBufferPointer { pd in
            scale.withUnsafeBufferPointer { psc in
                gx.withUnsafeMutableBufferPointer { pgx in
                    gShift.withUnsafeMutableBufferPointer { pgs in
                        gScale.withUnsafeMutableBufferPointer { pgc in
                            forEachChannelBlock(n: n, l: l, c: c) { s, cols in
                                for ch in cols { pgs[s * c + ch] = 0; pgc[s * c + ch] = 0 }
                                for t in 0..<l {
                                    let off = (s * l + t) * c
                                    for ch in cols {
                                        let g = pd[off + ch]
                                        pgx[off + ch] = g * (1 + psc[s * c + ch])
                                        pgs[s * c + ch] += g
                                        pgc[s * c + ch] += g * px[off + ch]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return (Tensor(shape: x.shape, data: gx), Tensor(shape: scale.shape, data: gShift),
            Tensor(shape: scale.shape, data: gScale))
}

/// Gradients of `gate(x, g)` = x·g (x [N, L, C], g [N, C]): dx = dy·g, dg = Σ_L dy·x.
public func gateBackward(gradOutput dy: Tensor, input x: Tensor, gate g: Tensor) -> (input: Tensor, gate: Tensor) {
    precondition(x.rank == 3 && dy.shape == x.shape && g.count == x.shape[0] * x.shape[2],
                 "gateBackward: input \(x.shape), gradient \(dy.shape), gate \(g.shape)")
    let (n, l, c) = (x.shape[0], x.shape[1], x.shape[2])
    var gx = [Float](repeating: 0, count: x.count)
    var gg = [Float](repeating: 0, count: n * c)
    x.withUnsafeBufferPointer { px in
        dy.withUnsafeBufferPointer { pd in
            g.withUnsafeBufferPointer { pg in
                gx.withUnsafeMutableBufferPointer { pgx in
                    gg.withUnsafeMutableBufferPointer { pgg in
                        forEachChannelBlock(n: n, l: l, c: c) { s, cols in
                            for t in 0..<l {
                                let off = (s * l + t) * c
                                for ch in cols {
                                    pgx[off + ch] = pd[off + ch] * pg[s * c + ch]
                                    pgg[s * c + ch] += pd[off + ch] * px[off + ch]
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return (Tensor(shape: x.shape, data: gx), Tensor(shape: g.shape, data: gg))
}
