import XCTest
import TweedieCore

/// Tape mechanics: accumulation over shared uses, gradients of intermediates, unreachable and constant values,
/// custom ops, and release of the recorded pullbacks.
final class AutodiffTapeTests: XCTestCase {
    func testGradientOfIntermediateAndChainRule() {
        let a = gradientTestTensor([5], seed: 101)
        let tape = Tape()
        let x = tape.leaf(a, requiresGrad: true)
        let y = tape.silu(x)
        let loss = tape.sum(y * y)
        let g = tape.gradients(of: loss, wrt: [y, x])
        for i in 0..<5 {
            let v = a.data[i], s = 1 / (1 + exp(-v)), yv = v * s
            XCTAssertEqual(g[0].data[i], 2 * yv, accuracy: 1e-6)
            XCTAssertEqual(g[1].data[i], 2 * yv * s * (1 + v * (1 - s)), accuracy: 1e-5)
        }
    }

    func testUnreachedLeafConstantsAndSeveralSeeds() {
        let tape = Tape()
        let x = tape.leaf(gradientTestTensor([3], seed: 102), requiresGrad: true)
        let unused = tape.leaf(Tensor(shape: [2], repeating: 1), requiresGrad: true)
        let c = tape.constant(Tensor(shape: [3], repeating: 2))
        let p = x * c
        XCTAssertFalse(tape.silu(c).requiresGrad)
        XCTAssertTrue(p.requiresGrad)
        let q = tape.silu(x)
        // Two outputs backpropagated together: x collects both contributions.
        tape.backward(seeds: [(p, Tensor(shape: [3], repeating: 1)), (q, Tensor(shape: [3], repeating: 0))])
        XCTAssertEqual(x.grad?.data, [2, 2, 2])
        XCTAssertNil(unused.grad)
        XCTAssertNil(c.grad)
        XCTAssertNil(p.grad, "intermediate gradients are freed unless retained")
    }

    func testGradientsReturnsZerosWithoutPath() {
        let tape = Tape()
        let x = tape.leaf(Tensor(shape: [2, 2], repeating: 1), requiresGrad: true)
        let z = tape.leaf(Tensor(shape: [3], repeating: 1), requiresGrad: true)
        let g = tape.gradients(of: tape.mean(x), wrt: [x, z])
        XCTAssertEqual(g[0].data, [0.25, 0.25, 0.25, 0.25])
        XCTAssertEqual(g[1], Tensor(shape: [3]))
    }

    func testGradientAccumulationAcrossTapes() {
        // Two micro-batches accumulate into one preallocated buffer: the sum of the two per-tape gradients.
        let w = gradientTestTensor([3, 4], seed: 104)
        var buffer = Tensor(shape: [3, 4])
        var expected = Tensor(shape: [3, 4])
        for batch in 0..<2 {
            let tape = Tape()
            let weight = tape.leaf(w, requiresGrad: true)
            let x = tape.constant(gradientTestTensor([5, 4], seed: 105 + UInt64(batch)))
            tape.backward(tape.sum(tape.silu(tape.linear(x, weight))))
            tape.addGradient(of: weight, into: &buffer)
            expected = expected + weight.grad!
        }
        XCTAssertEqual(buffer, expected)
        XCTAssertGreaterThan(buffer.maxAbs, 0)
    }

    func testCustomOpThroughRecord() {
        // A user-defined cube op: y = x³, dy/dx = 3x².
        func cube(_ t: Tape, _ x: Variable) -> Variable {
            let xv = x.value, xid = x.id
            return t.record(Tensor(shape: x.shape, data: xv.data.map { $0 * $0 * $0 }), inputs: [x]) { g, tape in
                tape.accumulate(xid, Tensor(shape: xv.shape, data: zip(g.data, xv.data).map { $0 * 3 * $1 * $1 }))
            }
        }
        // Measured 2.0e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("custom cube", [gradientTestTensor([8], seed: 103)], tolerance: 2e-4) { t, v in cube(t, v[0]) }
    }

    func testPullbacksAreReleasedAfterBackward() {
        final class Token {}
        weak var weakToken: Token?
        let tape = Tape()
        let x = tape.leaf(Tensor(shape: [1], repeating: 1), requiresGrad: true)
        do {
            let token = Token()
            weakToken = token
            let xid = x.id
            let y = tape.record(x.value, inputs: [x]) { g, tape in
                withExtendedLifetime(token) { tape.accumulate(xid, g) }
            }
            XCTAssertNotNil(weakToken)
            y.backward()
        }
        XCTAssertNil(weakToken, "the tape must drop its pullbacks (and what they captured) after backward")
        XCTAssertEqual(x.grad?.data, [1])
    }

    func testConstantOnlyTapeKeepsNoPullbacks() {
        final class Token {}
        weak var weakToken: Token?
        let tape = Tape()
        do {
            let token = Token()
            weakToken = token
            _ = tape.record(Tensor(shape: [1]), inputs: [tape.constant(Tensor(shape: [1]))]) { _, _ in
                withExtendedLifetime(token) {}
            }
        }
        XCTAssertNil(weakToken, "nothing needs a gradient, so the pullback is not kept")
    }
}
