/// Patch unfolding (im2col) and its adjoint, folding (col2im), for one NCHW sample. Row (c·kh + i)·kw + j of the
/// column matrix holds input channel c shifted by kernel tap (i, j), one column per output pixel, so a
/// convolution is W[O, I·kh·kw] · col and its input gradient is fold(Wᵀ · dY).
enum Patches {
    struct Geometry {
        let channels, height, width, kernelH, kernelW, stride, padding, outH, outW: Int
        var rows: Int { channels * kernelH * kernelW }
        var cols: Int { outH * outW }

        /// Output columns [lo, hi) whose input column ow·stride − padding + j lies inside the image.
        @inline(__always)
        func validColumns(tap j: Int) -> (lo: Int, hi: Int) {
            let shift = j - padding
            var lo = 0
            while lo < outW && lo * stride + shift < 0 { lo += 1 }
            var hi = outW
            while hi > lo && (hi - 1) * stride + shift >= width { hi -= 1 }
            return (lo, hi)
        }
    }

    /// col[rows, cols] = unfold(x[channels, height, width]); out-of-image taps read as zero.
    static func unfold(_ x: UnsafePointer<Float>, _ g: Geometry, into col: UnsafeMutablePointer<Float>) {
        GradLoops.tasks(g.rows, work: g.cols) { r in
            let c = r / (g.kernelH * g.kernelW), i = (r / g.kernelW) % g.kernelH, j = r % g.kernelW
            let plane = x + c * g.height * g.width
            let dst = col + r * g.cols
            let (lo, hi) = g.validColumns(tap: j)
            let shift = j - g.padding
            for oh in 0..<g.outH {
                let ih = oh * g.stride - g.padding + i
                let row = dst + oh * g.outW
                guard ih >= 0 && ih < g.height && hi > lo else {
                    row.update(repeating: 0, count: g.outW)
                    continue
                }
                if lo > 0 { row.update(repeating: 0, count: lo) }
                if hi < g.outW { (row + hi).update(repeating: 0, count: g.outW - hi) }
                let src = plane + ih * g.width + shift
                if g.stride == 1 {
                    (row + lo).update(from: src + lo, count: hi - lo)
                } else {
                    for ow in lo..<hi { row[ow] = src[ow * g.stride] }
                }
            }
        }
    }

    /// dx[channels, height, width] = fold(col): every column entry is added back to the pixel it was read from.
    /// `dx` is overwritten. Threaded over channels, whose planes are disjoint.
    static func fold(_ col: UnsafePointer<Float>, _ g: Geometry, into dx: UnsafeMutablePointer<Float>) {
        let taps = g.kernelH * g.kernelW
        GradLoops.tasks(g.channels, work: taps * g.cols) { c in
            let plane = dx + c * g.height * g.width
            plane.update(repeating: 0, count: g.height * g.width)
            for t in 0..<taps {
                let i = t / g.kernelW, j = t % g.kernelW
                let (lo, hi) = g.validColumns(tap: j)
                guard hi > lo else { continue }
                let src = col + (c * taps + t) * g.cols
                for oh in 0..<g.outH {
                    let ih = oh * g.stride - g.padding + i
                    guard ih >= 0 && ih < g.height else { continue }
                    let dst = plane + ih * g.width + (j - g.padding)
                    let row = src + oh * g.outW
                    if g.stride == 1 {
                        for ow in lo..<hi { dst[ow] += row[ow] }
                    } else {
                        for ow in lo..<hi { dst[ow * g.stride] += row[ow] }
                    }
                }
            }
        }
    }
}
