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
                    po[i] = Float(sumFloats(pd.baseAddress! + i * plane, plane))
                } else {
                    var total = 0.0
                    for s in 0..<n { total += sumFloats(pd.baseAddress! + (s * c + i) * plane, plane) }
                    po[i] = Float(total)
                }
            }
        }
    }
}

/// Shared walk of modulate/gate backward over x, dy [N, L, C] with per-sample vectors [N, C]: for every sample and
/// strip of 16 channels, dx = dy·factor and two column sums over L, Σ dy and Σ dy·x, accumulated in SIMD
/// registers (a strip is one cache line per row). Tasks own disjoint (sample, strip) pairs, so nothing races.
func tokenChannelBackward(n: Int, l: Int, c: Int, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                          factor: UnsafePointer<Float>, addOne: Bool, dx: UnsafeMutablePointer<Float>,
                          sumDy: UnsafeMutablePointer<Float>?, sumDyX: UnsafeMutablePointer<Float>) {
    let strip = 16
    let strips = (c + strip - 1) / strip
    let one: Float = addOne ? 1 : 0
    GradLoops.tasks(n * strips, work: l * strip) { t in
        let s = t / strips, c0 = (t % strips) * strip, width = min(strip, c - c0)
        let f = factor + s * c + c0
        if width == strip {
            let f0 = load8(f) + one, f1 = load8(f + 8) + one
            var d0 = SIMD8<Float>(), d1 = SIMD8<Float>(), x0 = SIMD8<Float>(), x1 = SIMD8<Float>()
            for r in 0..<l {
                let off = (s * l + r) * c + c0
                let g0 = load8(dy + off), g1 = load8(dy + off + 8)
                store8(g0 * f0, dx + off)
                store8(g1 * f1, dx + off + 8)
                d0 += g0
                d1 += g1
                x0 += g0 * load8(x + off)
                x1 += g1 * load8(x + off + 8)
            }
            if let sumDy { store8(d0, sumDy + s * c + c0); store8(d1, sumDy + s * c + c0 + 8) }
            store8(x0, sumDyX + s * c + c0)
            store8(x1, sumDyX + s * c + c0 + 8)
        } else {
            for j in 0..<width {
                var sd: Float = 0, sx: Float = 0
                for r in 0..<l {
                    let off = (s * l + r) * c + c0 + j
                    dx[off] = dy[off] * (f[j] + one)
                    sd += dy[off]
                    sx += dy[off] * x[off]
                }
                sumDy?[s * c + c0 + j] = sd
                sumDyX[s * c + c0 + j] = sx
            }
        }
    }
}

/// Gradients of `modulate(x, shift:, scale:)` = x·(1 + scale) + shift (x [N, L, C], shift/scale [N, C]):
/// dx = dy·(1 + scale), dshift = Σ_L dy, dscale = Σ_L dy·x.
public func modulateBackward(gradOutput dy: Tensor, input x: Tensor, scale: Tensor)
    -> (input: Tensor, shift: Tensor, scale: Tensor) {
    precondition(x.rank == 3 && dy.shape == x.shape && scale.count == x.shape[0] * x.shape[2],
                 "modulateBackward: input \(x.shape), gradient \(dy.shape), scale \(scale.shape)")
    let (n, l, c) = (x.shape[0], x.shape[1], x.shape[2])
    var gx = Tensor(shape: x.shape), gShift = Tensor(shape: scale.shape), gScale = Tensor(shape: scale.shape)
    x.withUnsafeBufferPointer { px in dy.withUnsafeBufferPointer { pd in scale.withUnsafeBufferPointer { psc in
    gx.withUnsafeMutableBufferPointer { pgx in gShift.withUnsafeMutableBufferPointer { pgs in
    gScale.withUnsafeMutableBufferPointer { pgc in
        tokenChannelBackward(n: n, l: l, c: c, dy: pd.baseAddress!, x: px.baseAddress!, factor: psc.baseAddress!,
                             addOne: true, dx: pgx.baseAddress!, sumDy: pgs.baseAddress!, sumDyX: pgc.baseAddress!)
    } } } } } }
    return (gx, gShift, gScale)
}

/// Gradients of `gate(x, g)` = x·g (x [N, L, C], g [N, C]): dx = dy·g, dg = Σ_L dy·x.
public func gateBackward(gradOutput dy: Tensor, input x: Tensor, gate g: Tensor) -> (input: Tensor, gate: Tensor) {
    precondition(x.rank == 3 && dy.shape == x.shape && g.count == x.shape[0] * x.shape[2],
                 "gateBackward: input \(x.shape), gradient \(dy.shape), gate \(g.shape)")
    let (n, l, c) = (x.shape[0], x.shape[1], x.shape[2])
    var gx = Tensor(shape: x.shape), gg = Tensor(shape: g.shape)
    x.withUnsafeBufferPointer { px in dy.withUnsafeBufferPointer { pd in g.withUnsafeBufferPointer { pg in
    gx.withUnsafeMutableBufferPointer { pgx in gg.withUnsafeMutableBufferPointer { pgg in
        tokenChannelBackward(n: n, l: l, c: c, dy: pd.baseAddress!, x: px.baseAddress!, factor: pg.baseAddress!,
                             addOne: false, dx: pgx.baseAddress!, sumDy: nil, sumDyX: pgg.baseAddress!)
    } } } } }
    return (gx, gg)
}
