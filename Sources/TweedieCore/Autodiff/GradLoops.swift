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

    /// Σ p[i] over `n` floats with Float runs and a Double total.
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0
        var i = 0
        while i < n {
            let e = min(n, i + 1024)
            var s: Float = 0
            for j in i..<e { s += p[j] }
            total += Double(s)
            i = e
        }
        return total
    }

    /// Σ a[i]·b[i] over `n` floats with Float runs and a Double total.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0
        var i = 0
        while i < n {
            let e = min(n, i + 1024)
            var s: Float = 0
            for j in i..<e { s += a[j] * b[j] }
            total += Double(s)
            i = e
        }
        return total
    }
}
