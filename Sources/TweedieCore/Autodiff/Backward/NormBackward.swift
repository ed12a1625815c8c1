#if canImport(Glibc)
import Glibc
#endif

/// Mean and 1/sqrt(var + eps) (biased variance) of `n` floats, accumulated in Double — the statistics the forward
/// normalisation used, recomputed here instead of being stored on the tape.
@inline(__always)
func normStatistics(_ p: UnsafePointer<Float>, _ n: Int, eps: Float) -> (mean: Float, rstd: Float) {
    let mean = GradLoops.sum(p, n) / Double(max(1, n))
    var sq = 0.0
    var i = 0
    while i < n {
        let e = min(n, i + 1024)
        var s: Float = 0
        let m = Float(mean)
        for j in i..<e { let d = p[j] - m; s += d * d }
        sq += Double(s)
        i = e
    }
    let variance = sq / Double(max(1, n))
    return (Float(mean), Float(1 / (variance + Double(eps)).squareRoot()))
}

/// Gradients of `groupNorm(x, groups:, weight:, bias:, eps:)` given dL/dy. With x̂ = (x − μ)·rstd per
/// (sample, group) and ĝ = dy·γ: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dγ_c = Σ dy·x̂, dβ_c = Σ dy.
/// `x` [N, C, ...], `weight` [C] or absent. With `needAffine` the weight gradient (nil without a weight) and the
/// bias gradient are returned.
public func groupNormBackward(gradOutput dy: Tensor, input x: Tensor, groups: Int, weight: Tensor?, eps: Float,
                              needInput: Bool = true, needAffine: Bool = true)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    precondition(x.rank >= 2 && dy.shape == x.shape && x.shape[1] % groups == 0,
                 "groupNormBackward: input \(x.shape), gradient \(dy.shape), groups \(groups)")
    let n = x.shape[0], channels = x.shape[1]
    let spatial = x.count / max(1, n * channels), perGroup = channels / groups
    let groupSize = perGroup * spatial
    var gxData = [Float](repeating: 0, count: needInput ? x.count : 0)
    // Per-(sample, channel) partial sums, reduced over samples afterwards: tasks never share a slot.
    var dGamma = [Float](repeating: 0, count: n * channels), dBeta = dGamma
    x.withUnsafeBufferPointer { px in
        dy.withUnsafeBufferPointer { pdy in
            dGamma.withUnsafeMutableBufferPointer { pdg in
                dBeta.withUnsafeMutableBufferPointer { pdb in
                  gxData.withUnsafeMutableBufferPointer { pgx in
                    let gxBase = needInput ? pgx.baseAddress : nil
                    let gamma = weight.map { $0.data } ?? []
                    gamma.withUnsafeBufferPointer { pg in
                        GradLoops.tasks(n * groups, work: 2 * groupSize) { task in
                            let base = task * groupSize
                            let xs = px.baseAddress! + base, ds = pdy.baseAddress! + base
                            let (mean, rstd) = normStatistics(xs, groupSize, eps: eps)
                            let c0 = (task % groups) * perGroup, sample = task / groups
                            var sumG = 0.0, sumGX = 0.0
                            for cc in 0..<perGroup {
                                let gammaC: Float = pg.isEmpty ? 1 : pg[c0 + cc]
                                var sd: Float = 0, sdx: Float = 0
                                let off = cc * spatial
                                for s in 0..<spatial {
                                    let xh = (xs[off + s] - mean) * rstd
                                    sd += ds[off + s]
                                    sdx += ds[off + s] * xh
                                }
                                pdg[sample * channels + c0 + cc] = sdx
                                pdb[sample * channels + c0 + cc] = sd
                                sumG += Double(sd * gammaC)
                                sumGX += Double(sdx * gammaC)
                            }
                            guard let gxBase else { return }
                            let meanG = Float(sumG / Double(groupSize)), meanGX = Float(sumGX / Double(groupSize))
                            let out = gxBase + base
                            for cc in 0..<perGroup {
                                let gammaC: Float = pg.isEmpty ? 1 : pg[c0 + cc]
                                let off = cc * spatial
                                for s in 0..<spatial {
                                    let xh = (xs[off + s] - mean) * rstd
                                    out[off + s] = rstd * (ds[off + s] * gammaC - meanG - xh * meanGX)
                                }
                            }
                        }
                    }
                  }
                }
            }
        }
    }
    let gx: Tensor? = needInput ? Tensor(shape: x.shape, data: gxData) : nil
    guard needAffine else { return (gx, nil, nil) }
    var gw = Tensor(shape: [channels]), gb = Tensor(shape: [channels])
    for c in 0..<channels {
        var a: Float = 0, b: Float = 0
        for s in 0..<n { a += dGamma[s * channels + c]; b += dBeta[s * channels + c] }
        gw.data[c] = a
        gb.data[c] = b
    }
    return (gx, weight == nil ? nil : gw, gb)
}

/// Gradients of `layerNorm(x, weight:, bias:, eps:)` over the last dimension D given dL/dy. Per row, with
/// ĝ = dy·γ: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)); dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
public func layerNormBackward(gradOutput dy: Tensor, input x: Tensor, weight: Tensor?, eps: Float,
                              needInput: Bool = true, needAffine: Bool = true)
    -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
    precondition(x.rank >= 1 && dy.shape == x.shape, "layerNormBackward: input \(x.shape), gradient \(dy.shape)")
    let d = x.shape[x.rank - 1], rows = x.count / max(1, d)
    let wantAffine = needAffine
    let pieces = GradLoops.pieceCount(rows, minChunk: max(1, 4096 / max(1, d)))
    var gxData = [Float](repeating: 0, count: needInput ? x.count : 0)
    // One partial dγ/dβ row per piece, summed afterwards: pieces never share memory.
    var partG = [Float](repeating: 0, count: wantAffine ? pieces * d : 0), partB = partG
    var xhatRow = [Float](repeating: 0, count: pieces * d)
    let gamma = weight?.data ?? []
    x.withUnsafeBufferPointer { px in
        dy.withUnsafeBufferPointer { pdy in
            partG.withUnsafeMutableBufferPointer { ppg in
                partB.withUnsafeMutableBufferPointer { ppb in
                    xhatRow.withUnsafeMutableBufferPointer { pxh in
                        gamma.withUnsafeBufferPointer { pg in
                          gxData.withUnsafeMutableBufferPointer { pgx in
                            let gxBase = needInput ? pgx.baseAddress : nil
                            parallelFor(pieces) { piece in
                                let xh = pxh.baseAddress! + piece * d
                                for r in (rows * piece / pieces)..<(rows * (piece + 1) / pieces) {
                                    let xs = px.baseAddress! + r * d, ds = pdy.baseAddress! + r * d
                                    let (mean, rstd) = normStatistics(xs, d, eps: eps)
                                    var sumG: Float = 0, sumGX: Float = 0
                                    for i in 0..<d {
                                        let v = (xs[i] - mean) * rstd
                                        xh[i] = v
                                        let gi = pg.isEmpty ? ds[i] : ds[i] * pg[i]
                                        sumG += gi
                                        sumGX += gi * v
                                    }
                                    if wantAffine {
                                        let pgp = ppg.baseAddress! + piece * d, pbp = ppb.baseAddress! + piece * d
                                        for i in 0..<d { pgp[i] += ds[i] * xh[i]; pbp[i] += ds[i] }
                                    }
                                    guard let gxBase else { continue }
                                    let out = gxBase + r * d
                                    let mg = sumG / Float(d), mgx = sumGX / Float(d)
                                    for i in 0..<d {
                                        let gi = pg.isEmpty ? ds[i] : ds[i] * pg[i]
                                        out[i] = rstd * (gi - mg - xh[i] * mgx)
                                    }
                                }
                            }
                          }
                        }
                    }
                }
            }
        }
    }
    let gx: Tensor? = needInput ? Tensor(shape: x.shape, data: gxData) : nil
    guard wantAffine else { return (gx, nil, nil) }
    var gw = Tensor(shape: [d]), gb = Tensor(shape: [d])
    for p in 0..<pieces {
        for i in 0..<d { gw.data[i] += partG[p * d + i]; gb.data[i] += partB[p * d + i] }
    }
    return (gx, weight == nil ? nil : gw, gb)
}
