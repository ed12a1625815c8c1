// Loop helpers shared by the backward kernels: split work into pieces big enough to be worth a thread.

enum GradLoops {
    /// How many pieces `count` items split into: at most ~4 per thread, none smaller than `minChunk`.
    static func pieceCount(_ count: Int, minChunk: Int) -> Int {
        max(1, min(Runtime.threads * 4, count / max(1, minChunk)))
    }

    /// Runs `body(range)` over `count` items split into `pieceCount` contiguous ranges.
    static func chunks(_ count: Int, minChunk: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        let pieces = pieceCount(count, minChunk: minChunk)
        if pieces == 1 {
            body(0..<count)
            return
        }
        parallelFor(pieces) { k in body((count * k / pieces)..<(count * (k + 1) / pieces)) }
    }

    /// Runs `body(index)` for each of `count` independent tasks, each worth about `work` elements, threading only
    /// when the total pays for it.
    static func tasks(_ count: Int, work: Int, _ body: (Int) -> Void) {
        if count <= 1 || count * work < 1 << 14 {
            for i in 0..<count { body(i) }
        } else {
            parallelFor(count, body)
        }
    }

    /// out[c] (+)= Σ_r p[r·cols + c] for a row-major [rows, cols] matrix; threaded over column blocks.
    static func columnSums(_ p: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>,
                           accumulate: Bool) {
        let block = 256
        let blocks = (cols + block - 1) / block
        tasks(blocks, work: rows * block) { b in
            let c0 = b * block, c1 = min(cols, c0 + block)
            var acc = [Double](repeating: 0, count: c1 - c0)
            var part = [Float](repeating: 0, count: c1 - c0)
            acc.withUnsafeMutableBufferPointer { a in
                part.withUnsafeMutableBufferPointer { s in
                    // Float partial sums over short runs of rows, Double across runs: accurate for long columns.
                    var r = 0
                    while r < rows {
                        let r1 = min(rows, r + 256)
                        for i in 0..<s.count { s[i] = 0 }
                        for row in r..<r1 {
                            let src = p + row * cols + c0
                            for i in 0..<s.count { s[i] += src[i] }
                        }
                        for i in 0..<s.count { a[i] += Double(s[i]) }
                        r = r1
                    }
                    for i in 0..<a.count {
                        out[c0 + i] = accumulate ? out[c0 + i] + Float(a[i]) : Float(a[i])
                    }
                }
            }
        }
    }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Σ f(i) over `n` elements where `lanes(i)` gives elements i..<i+8 and `scalar(i)` one element: SIMD lanes
    /// within runs of 1024, Double across runs (accurate for long rows).
    @inline(__always)
    static func reduce(_ n: Int, _ lanes: (Int) -> SIMD8<Float>, _ scalar: (Int) -> Float) -> Double {
        var total = 0.0
        var i = 0
        while i < n {
            let end = min(n, i + 1024)
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
            while i + 16 <= end {
                a0 += lanes(i)
                a1 += lanes(i + 8)
                i += 16
            }
            var s = (a0 + a1).sum()
            while i < end { s += scalar(i); i += 1 }
            total += Double(s)
        }
        return total
    }

    /// Σ p[i] over `n` floats.
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        reduce(n, { load(p + $0) }, { p[$0] })
    }

    /// Σ a[i]·b[i] over `n` floats.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
        reduce(n, { load(a + $0) * load(b + $0) }, { a[$0] * b[$0] })
    }

    /// Σ a[i]·(x[i] − mean) over `n` floats (centred first, so a large mean does not cancel).
    static func dotCentered(_ a: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: Float, _ n: Int) -> Double {
        let m = SIMD8<Float>(repeating: mean)
        return reduce(n, { load(a + $0) * (load(x + $0) - m) }, { a[$0] * (x[$0] - mean) })
    }
}

/// Scalar math shared by the backward kernels, written branch-free so loops over it vectorise.
enum GradMath {
    /// e^x for x ≤ 0 (softmax weights): Cody–Waite reduction to r ∈ [−ln2/2, ln2/2] and a degree-6 polynomial
    /// (relative error ≈ 2e-7); arguments below −87 give the smallest normal instead of a subnormal.
    @inline(__always)
    static func expNonPositive(_ x: Float) -> Float {
        let xc = max(x, -87)
        let magic: Float = 12_582_912  // 1.5·2²³: adding it rounds to an integer kept in the low mantissa bits
        let t = xc * 1.442_695_04 + magic
        let k = t - magic
        let r = (xc - k * 0.693_359_375) + k * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * (r * r) + r + 1
        return y * Float(bitPattern: (t.bitPattern &- magic.bitPattern &+ 127) &<< 23)
    }

    /// Mean and 1/sqrt(biased variance + eps) of `n` floats in two passes (mean, then squared deviations), the
    /// statistics the forward normalisations use, recomputed instead of stored on the tape.
    static func moments(_ p: UnsafePointer<Float>, _ n: Int, eps: Float) -> (mean: Float, rstd: Float) {
        guard n > 0 else { return (0, 1 / eps.squareRoot()) }
        let mean = Float(GradLoops.sum(p, n) / Double(n))
        let m = SIMD8<Float>(repeating: mean)
        let sq = GradLoops.reduce(n, { let t = GradLoops.load(p + $0) - m; return t * t },
                                  { let t = p[$0] - mean; return t * t })
        return (mean, Float(1 / (sq / Double(n) + Double(eps)).squareRoot()))
    }

    /// Softmax of one row of `n ≥ 1` floats in place, shifted by the row maximum.
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = -Float.infinity
        for i in 0..<n { m = max(m, row[i]) }
        let shift = m.isFinite ? m : 0
        for i in 0..<n { row[i] = expNonPositive(row[i] - shift) }
        let inv = Float(1 / GradLoops.sum(row, n))
        for i in 0..<n { row[i] *= inv }
    }
}

extension GradLoops {
    /// Calls `body` with the element pointer of an optional tensor (nil when absent).
    static func withPointer<R>(_ t: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let t else { return body(nil) }
        return t.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
