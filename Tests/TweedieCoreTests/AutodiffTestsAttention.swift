import XCTest
import TweedieTestSupport
import TweedieCore

/// Gradients of multi-head attention through its softmax.
final class AutodiffAttentionTests: XCTestCase {
    func testSelfAttentionTwoHeads() {
        // 2 samples × 2 heads: the (sample, head) pairs run in parallel on a multi-core machine.
        let x = gradientTestTensor([2, 5, 8], seed: 51)
        let k = gradientTestTensor([2, 5, 8], seed: 52), v = gradientTestTensor([2, 5, 8], seed: 53)
        // Measured 2.9e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("attention 2 heads", [x, k, v], tolerance: 2e-3) { t, a in t.attention(q: a[0], k: a[1], v: a[2], heads: 2) }
    }

    func testCrossAttentionOneHeadCustomScale() {
        // One pair: the serial path with threaded GEMMs; Lq ≠ Lk and an explicit scale.
        let q = gradientTestTensor([1, 3, 6], seed: 54, scale: 2)
        let k = gradientTestTensor([1, 7, 6], seed: 55), v = gradientTestTensor([1, 7, 6], seed: 56)
        // Measured 2.3e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("attention cross", [q, k, v], tolerance: 2e-3) { t, a in
            t.attention(q: a[0], k: a[1], v: a[2], heads: 1, scale: 0.7)
        }
    }

    func testPartialGradients() {
        // Only some operands need a gradient; the others' output buffers must not be touched.
        let q = gradientTestTensor([2, 4, 6], seed: 61), k = gradientTestTensor([2, 5, 6], seed: 62)
        let v = gradientTestTensor([2, 5, 6], seed: 63)
        for mask in [[true, false, false], [false, true, false], [false, false, true], [false, true, true]] {
            // Measured 2.0e-03 (worst of 5 OpenBLAS kernels).
            checkGradients("attention needs \(mask)", [q, k, v], differentiable: mask, tolerance: 2e-2) { t, a in
                t.attention(q: a[0], k: a[1], v: a[2], heads: 3)
            }
        }
    }

    func testQueryBlockingMatchesWholeRows() {
        let q = gradientTestTensor([1, 11, 8], seed: 57), k = gradientTestTensor([1, 9, 8], seed: 58)
        let v = gradientTestTensor([1, 9, 8], seed: 59), dO = gradientTestTensor([1, 11, 8], seed: 60)
        let whole = attentionBackward(gradOutput: dO, q: q, k: k, v: v, heads: 2)
        let blocked = attentionBackward(gradOutput: dO, q: q, k: k, v: v, heads: 2, blockRows: 3)
        // Measured 1.5e-8 to 6.0e-8 (worst of 5 OpenBLAS kernels).
        assertMeasured(whole.q!.maxAbsDifference(blocked.q!), tolerance: 3e-7, "attention gradient q whole vs blocked")
        assertMeasured(whole.k!.maxAbsDifference(blocked.k!), tolerance: 3e-7, "attention gradient k whole vs blocked")
        assertMeasured(whole.v!.maxAbsDifference(blocked.v!), tolerance: 3e-7, "attention gradient v whole vs blocked")
        // One (sample, head) pair on several threads: query rows split over workers, dK/dV partials summed.
        let saved = Runtime.threads
        defer { Runtime.threads = saved }
        Runtime.threads = 3
        let split = attentionBackward(gradOutput: dO, q: q, k: k, v: v, heads: 1)
        Runtime.threads = 1
        let serial = attentionBackward(gradOutput: dO, q: q, k: k, v: v, heads: 1)
        // Measured 1.5e-8 to 6.0e-8 (worst of 5 OpenBLAS kernels).
        assertMeasured(split.q!.maxAbsDifference(serial.q!), tolerance: 3e-7, "attention gradient q split vs serial")
        assertMeasured(split.k!.maxAbsDifference(serial.k!), tolerance: 3e-7, "attention gradient k split vs serial")
        assertMeasured(split.v!.maxAbsDifference(serial.v!), tolerance: 3e-7, "attention gradient v split vs serial")
    }
}
