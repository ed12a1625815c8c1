import XCTest
import TweedieCore
import Foundation

final class AttentionTests: XCTestCase {
    /// Float64 multi-head attention on [N, L, C] tensors, heads taking consecutive channel slices.
    private func reference(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Double?) -> [Double] {
        let (n, lq, c) = (q.shape[0], q.shape[1], q.shape[2]), lk = k.shape[1], d = c / heads
        let s = scale ?? 1 / Double(d).squareRoot()
        var out = [Double](repeating: 0, count: n * lq * c)
        for b in 0..<n { for h in 0..<heads { for i in 0..<lq {
            var logits = [Double](repeating: 0, count: lk)
            for j in 0..<lk {
                var dot = 0.0
                for e in 0..<d { dot += Double(q.data[(b * lq + i) * c + h * d + e]) * Double(k.data[(b * lk + j) * c + h * d + e]) }
                logits[j] = dot * s
            }
            let m = logits.max()!
            let w = logits.map { exp($0 - m) }
            let total = w.reduce(0, +)
            for e in 0..<d {
                var acc = 0.0
                for j in 0..<lk { acc += w[j] / total * Double(v.data[(b * lk + j) * c + h * d + e]) }
                out[(b * lq + i) * c + h * d + e] = acc
            }
        } } }
        return out
    }

    private func check(n: Int, lq: Int, lk: Int, c: Int, heads: Int, scale: Float? = nil, seed: UInt64,
                       allowance: Double = 1, line: UInt = #line) {
        let q = randomTensor([n, lq, c], seed: seed, range: 2), k = randomTensor([n, lk, c], seed: seed + 1, range: 2)
        let v = randomTensor([n, lk, c], seed: seed + 2)
        let y = attention(q: q, k: k, v: v, heads: heads, scale: scale)
        // Outputs are convex combinations of values in [-1, 1]: absolute error is the meaningful measure.
        assertClose(y, reference(q: q, k: k, v: v, heads: heads, scale: scale.map(Double.init)), shape: [n, lq, c],
                    relative: 0, absolute: 1e-5 * allowance, "attention q \(q.shape) k \(k.shape) heads \(heads)", line: line)
    }

    func testMultiHeadCrossAttention() {
        // Measured error/allowance 8.0e-03 (worst of 5 OpenBLAS kernels).
        check(n: 2, lq: 5, lk: 7, c: 8, heads: 2, seed: 1, allowance: 4e-2)
        // Measured error/allowance 1.3e-02 (worst of 5 OpenBLAS kernels).
        check(n: 1, lq: 3, lk: 4, c: 12, heads: 3, seed: 4, allowance: 7e-2)
    }

    func testSingleHeadAndCustomScale() {
        // Measured error/allowance 8.8e-03 (worst of 5 OpenBLAS kernels).
        check(n: 2, lq: 6, lk: 6, c: 5, heads: 1, seed: 10, allowance: 5e-2)
        // Measured error/allowance 1.1e-02 (worst of 5 OpenBLAS kernels).
        check(n: 1, lq: 4, lk: 9, c: 6, heads: 2, scale: 0.7, seed: 13, allowance: 6e-2)
    }

    func testSingleKeyGivesItsValue() {
        // Measured error/allowance 0.0e+00 (worst of 5 OpenBLAS kernels).
        check(n: 2, lq: 3, lk: 1, c: 4, heads: 2, seed: 20, allowance: 1e-2)
    }

    func testEveryThreadCountAgrees() {
        let saved = Runtime.threads
        defer { Runtime.threads = saved }
        for threads in [1, 2, 3] {
            Runtime.threads = threads
            // Measured error/allowance 1.5e-02 (worst of 5 OpenBLAS kernels).
            check(n: 1, lq: 40, lk: 9, c: 6, heads: 1, seed: 40, allowance: 8e-2)
        }
    }

    func testQueriesSplitIntoSeveralBlocks() {
        // 600 queries against 1100 keys are cut into several query blocks run on different workers.
        // Measured error/allowance 4.9e-03 (worst of 5 OpenBLAS kernels).
        check(n: 1, lq: 600, lk: 1100, c: 4, heads: 2, seed: 30, allowance: 3e-2)
    }
}
