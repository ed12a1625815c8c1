// Backward kernels of the normalisations. Mean and variance are recomputed from the saved input, so the tape
// keeps no statistics. With x̂ = (x − μ)·rstd and ĝ = dy·γ over a normalised set of m elements:
// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), evaluated as a·dy + b·(x − μ) + c per channel or row.

/// Gradients of `groupNorm(x, groups:, weight:, bias:, eps:)` given dL/dy; dγ_c = Σ dy·x̂, dβ_c = Σ dy.
/// `x` [N, C, ...], `weight` [C] or absent. With `needAffine` the weight gradient (nil without a weight) and the
/// bias gradient are returned.
public func groupNormBackward(gradOutput dy: Tensor, input x: Tensor, groups: Int, weight: Tensor?, eps: Float,
                              needInput: Bool = true, needAffine: Bool = true)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    precondition(x.rank >= 2 && dy.shape == x.shape && groups > 0 && x.shape[1] % groups == 0,
                 "groupNormBackward: input \(x.shape), gradient \(dy.shape), groups \(groups)")
    let n = x.shape[0], channels = x.shape[1]
    let spatial = x.count / max(1, n * channels), perGroup = channels / groups
    let groupSize = perGroup * spatial
    var gx = [Float](repeating: 0, count: needInput ? x.count : 0)
    // Per-(sample, channel) partial sums, reduced over samples afterwards: tasks never share a slot.
    var partials = [Float](repeating: 0, count: 2 * n * channels)
    withNormPointers(x, dy, weight, &gx, &partials) { xp, dyp, pg, out, ppart in
        let dGamma = ppart, dBeta = dGamma + n * channels
        GradLoops.tasks(n * groups, work: 2 * groupSize) { task in
            let base = task * groupSize
            let xs = xp + base, ds = dyp + base
            let stats = moments(xs, groupSize, eps: eps), mean = stats.centre, rstd = stats.rstd
            let c0 = (task % groups) * perGroup, slot = (task / groups) * channels + c0
            var sumG = 0.0, sumGX = 0.0
            for cc in 0..<perGroup {
                let off = cc * spatial
                let sd = Float(sumFloats(ds + off, spatial))
                let sdx = Float(dotCentred(ds + off, xs + off, mean: mean, spatial)) * rstd
                dGamma[slot + cc] = sdx
                dBeta[slot + cc] = sd
                let gammaC: Float = pg?[c0 + cc] ?? 1
                sumG += Double(sd * gammaC)
                sumGX += Double(sdx * gammaC)
            }
            guard let out else { return }
            let meanG = Float(sumG / Double(groupSize)), meanGX = Float(sumGX / Double(groupSize))
            for cc in 0..<perGroup {
                let off = cc * spatial
                let a = rstd * (pg?[c0 + cc] ?? 1), b = -rstd * rstd * meanGX, c = -rstd * meanG
                let o = out + base + off, d = ds + off, xv = xs + off
                for i in 0..<spatial { o[i] = a * d[i] + b * (xv[i] - mean) + c }
            }
        }
    }
    let gxT: Tensor? = needInput ? Tensor(shape: x.shape, data: gx) : nil
    guard needAffine else { return (gxT, nil, nil) }
    var gw = Tensor(shape: [channels]), gb = Tensor(shape: [channels])
    for s in 0..<n {
        for c in 0..<channels {
            gw.data[c] += partials[s * channels + c]
            gb.data[c] += partials[(n + s) * channels + c]
        }
    }
    return (gxT, weight == nil ? nil : gw, gb)
}

/// Gradients of `layerNorm(x, weight:, bias:, eps:)` over the last dimension D given dL/dy;
/// dγ = Σ_rows dy·x̂, dβ = Σ_rows dy. With `needAffine` the weight gradient (nil without a weight) and the bias
/// gradient are returned.
public func layerNormBackward(gradOutput dy: Tensor, input x: Tensor, weight: Tensor?, eps: Float,
                              needInput: Bool = true, needAffine: Bool = true)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    precondition(x.rank >= 1 && dy.shape == x.shape, "layerNormBackward: input \(x.shape), gradient \(dy.shape)")
    let d = x.shape[x.rank - 1], rows = d == 0 ? 0 : x.count / d
    let pieces = chunkCount(rows, minChunk: max(1, 4096 / max(1, d)))
    var gx = [Float](repeating: 0, count: needInput ? x.count : 0)
    // One partial dγ and dβ row per piece, summed afterwards, plus one scratch row of dy·γ per piece.
    var scratch = [Float](repeating: 0, count: 3 * pieces * d)
    withNormPointers(x, dy, weight, &gx, &scratch) { xp, dyp, pg, out, scr in
        let body = { (piece: Int) in
            let partG = scr + piece * d, partB = scr + (pieces + piece) * d, gRow = scr + (2 * pieces + piece) * d
            for r in (rows * piece / pieces)..<(rows * (piece + 1) / pieces) {
                let xs = xp + r * d, ds = dyp + r * d
                let stats = moments(xs, d, eps: eps), mean = stats.centre, rstd = stats.rstd
                let g: UnsafePointer<Float>
                if let w = pg {
                    for i in 0..<d { gRow[i] = ds[i] * w[i] }
                    g = UnsafePointer(gRow)
                } else {
                    g = ds
                }
                if needAffine {
                    for i in 0..<d { partG[i] += ds[i] * ((xs[i] - mean) * rstd) }
                    for i in 0..<d { partB[i] += ds[i] }
                }
                guard let out else { continue }
                let mg = Float(sumFloats(g, d) / Double(d))
                let mgx = Float(dotCentred(g, xs, mean: mean, d) / Double(d)) * rstd
                let b = -rstd * rstd * mgx, c = -rstd * mg
                let o = out + r * d
                for i in 0..<d { o[i] = rstd * g[i] + b * (xs[i] - mean) + c }
            }
        }
        if pieces == 1 { body(0) } else { parallelFor(pieces, body) }
    }
    let gxT: Tensor? = needInput ? Tensor(shape: x.shape, data: gx) : nil
    guard needAffine else { return (gxT, nil, nil) }
    var gw = Tensor(shape: [d]), gb = Tensor(shape: [d])
    for p in 0..<pieces {
        for i in 0..<d { gw.data[i] += scratch[p * d + i]; gb.data[i] += scratch[(pieces + p) * d + i] }
    }
    return (gxT, weight == nil ? nil : gw, gb)
}

/// Runs `body` with the pointers of a norm's backward pass: x, dy, γ (nil without a weight), the input gradient
/// `gx` (nil when it is empty, i.e. not requested) and the `scratch` partial sums; not called for an empty input.
private func withNormPointers(_ x: Tensor, _ dy: Tensor, _ weight: Tensor?, _ gx: inout [Float],
                              _ scratch: inout [Float],
                              _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>?,
                                       UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>) -> Void) {
    x.withUnsafeBufferPointer { px in
        dy.withUnsafeBufferPointer { pdy in
            withOptionalPointer(weight) { pg in
                gx.withUnsafeMutableBufferPointer { pgx in
                    scratch.withUnsafeMutableBufferPointer { pscr in
                        // Empty buffers mean an empty input: no work.
                        guard let bx = px.baseAddress, let bd = pdy.baseAddress, let bs = pscr.baseAddress,
                              !px.isEmpty, !pscr.isEmpty else { return }
                        body(bx, bd, pg, pgx.isEmpty ? nil : pgx.baseAddress, bs)
                    }
                }
            }
        }
    }
}
