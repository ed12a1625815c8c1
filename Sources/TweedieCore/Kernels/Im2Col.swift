/// The im2col lowering of one sample: row (ci, ky, kx) of the [C·kh·kw, Ho·Wo] matrix holds the input pixels
/// that kernel tap sees at every output position, zeros where it falls into the padding. A convolution is
/// W[O, C·kh·kw] · col; its input gradient is the adjoint `fold` (col2im) of Wᵀ · dY.
struct Im2Col {
    let channels, height, width, kh, kw, stride, padding, outHeight, outWidth: Int
    /// Rows of the column matrix, C·kh·kw.
    var rows: Int { channels * kh * kw }
    /// Columns of the column matrix, Ho·Wo.
    var cols: Int { outHeight * outWidth }

    /// Output columns [lo, hi) whose input column ox·stride − padding + kx lies inside [0, width).
    @inline(__always)
    func validColumns(tap kx: Int) -> (lo: Int, hi: Int) {
        let shift = kx - padding
        let lo = min(outWidth, max(0, ceilDiv(-shift, stride)))
        return (lo, max(lo, min(outWidth, floorDiv(width - 1 - shift, stride) + 1)))
    }

    /// Fills the packed [C·kh·kw, Ho·Wo] matrix at `col` from one CHW sample, channels in parallel or not.
    func unfold(_ src: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        forEachChannel(parallel: parallel) { ci in unfoldChannel(ci, src, col) }
    }

    /// The kh·kw rows of input channel `ci`.
    @inline(__always)
    private func unfoldChannel(_ ci: Int, _ src: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>) {
        let chan = src + ci * height * width
        for ky in 0..<kh {
            for kx in 0..<kw {
                let row = col + ((ci * kh + ky) * kw + kx) * cols
                let shift = kx - padding
                let (lo, hi) = validColumns(tap: kx)
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

    /// dx[C, H, W] = fold(col): every entry of the [C·kh·kw, Ho·Wo] matrix is added back to the pixel it was
    /// read from; `dx` is overwritten. Threaded over channels, whose planes are disjoint, when it pays and
    /// `parallel` allows (callers already on a worker pass false).
    func fold(_ col: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        forEachChannel(parallel: parallel && rows * cols >= 1 << 14) { ci in foldChannel(ci, col, dx) }
    }

    /// Runs `body` for every input channel, across threads or serially.
    @inline(__always)
    private func forEachChannel(parallel: Bool, _ body: (Int) -> Void) {
        if parallel {
            parallelFor(channels, body)
        } else {
            for ci in 0..<channels { body(ci) }
        }
    }

    @inline(__always)
    private func foldChannel(_ ci: Int, _ col: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
        let chan = dx + ci * height * width
        chan.update(repeating: 0, count: height * width)
        for ky in 0..<kh {
            for kx in 0..<kw {
                let (lo, hi) = validColumns(tap: kx)
                guard hi > lo else { continue }
                let src = col + ((ci * kh + ky) * kw + kx) * cols
                for oy in 0..<outHeight {
                    let iy = oy * stride - padding + ky
                    guard iy >= 0 && iy < height else { continue }
                    let dst = chan + iy * width + (kx - padding)
                    let row = src + oy * outWidth
                    if stride == 1 {
                        for ox in lo..<hi { dst[ox] += row[ox] }
                    } else {
                        for ox in lo..<hi { dst[ox * stride] += row[ox] }
                    }
                }
            }
        }
    }
}

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
