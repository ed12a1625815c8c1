import XCTest
import TweedieCore

/// Gradients of multi-head attention through its softmax.
final class AutodiffAttentionTests: XCTestCase {
    func testSelfAttentionTwoHeads() {
        // 2 samples × 2 heads: the (sample, head) pairs run in parallel on a multi-core machine.
        let x = gradientTestTensor([2, 5, 8], seed: 51)
        let k = gradientTestTensor([2, 5, 8], seed: 52), v = gradientTestTensor([2, 5, 8], seed: 53)
        checkGradients("attention 2 heads", [x, k, v]) { t, a in t.attention(q: a[0], k: a[1], v: a[2], heads: 2) }
    }

    func testCrossAttentionOneHeadCustomScale() {
        // One pair: the serial path with threaded GEMMs; Lq ≠ Lk and an explicit scale.
        let q = gradientTestTensor([1, 3, 6], seed: 54, scale: 2)
        let k = gradientTestTensor([1, 7, 6], seed: 55), v = gradientTestTensor([1, 7, 6], seed: 56)
        checkGradients("attention cross", [q, k, v]) { t, a in
            t.attention(q: a[0], k: a[1], v: a[2], heads: 1, scale: 0.7)
        }
    }

    func testQueryBlockingMatchesWholeRows() {
        let q = gradientTestTensor([1, 11, 8], seed: 57), k = gradientTestTensor([1, 9, 8], seed: 58)
        let v = gradientTestTensor([1, 9, 8], seed: 59), dO = gradientTestTensor([1, 11, 8], seed: 60)
        let whole = attentionBackward(gradOutput: dO, q: q, k: k, v: v, heads: 2)
        let blocked = attentionBackward(gradOutput: dO, q: q, k: k, v: v, heads: 2, blockRows: 3)
        XCTAssertLessThanOrEqual(whole.q!.maxAbsDifference(blocked.q!), 1e-6)
        XCTAssertLessThanOrEqual(whole.k!.maxAbsDifference(blocked.k!), 1e-6)
        XCTAssertLessThanOrEqual(whole.v!.maxAbsDifference(blocked.v!), 1e-6)
    }
}
