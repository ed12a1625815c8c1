// Loop helpers of the backward kernels: independent tasks threaded only when they pay, and column sums.
// Element-wise chunking, reductions, exp and softmax rows are shared with the forward kernels (Kernels/).

enum GradLoops {
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
}
