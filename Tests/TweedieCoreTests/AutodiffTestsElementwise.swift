import XCTest
import TweedieCore

/// Gradients of elementwise arithmetic, broadcast helpers and reductions.
final class AutodiffElementwiseTests: XCTestCase {
    func testArithmeticOperators() {
        let a = gradientTestTensor([3, 7], seed: 81), b = gradientTestTensor([3, 7], seed: 82)
        // Measured 3.1e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("add", [a, b], tolerance: 2e-4) { t, v in t.silu(v[0] + v[1]) }
        // Measured 1.4e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("sub", [a, b], tolerance: 8e-5) { t, v in t.silu(v[0] - v[1]) }
        // Measured 2.0e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("mul", [a, b], tolerance: 2e-4) { t, v in v[0] * v[1] }
        // Measured 5.4e-06 (worst of 5 OpenBLAS kernels).
        checkGradients("scale", [a], tolerance: 3e-5) { t, v in t.silu(0.5 * v[0] * 3) }
        // The same value on both sides: its gradient is the sum of both paths (d(x·x) = 2x).
        // Measured 3.9e-06 (worst of 5 OpenBLAS kernels).
        checkGradients("mul self", [a], tolerance: 2e-5) { t, v in v[0] * v[0] }
    }

    func testChannelBiasPerSampleAndShared() {
        let x = gradientTestTensor([2, 3, 2, 2], seed: 83)
        // Measured 5.8e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("addChannelBias [N, C]", [x, gradientTestTensor([2, 3], seed: 84)], tolerance: 3e-4) { t, v in
            t.silu(t.addChannelBias(v[0], v[1]))
        }
        // Measured 5.0e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("addChannelBias [C]", [x, gradientTestTensor([3], seed: 85)], tolerance: 3e-4) { t, v in
            t.silu(t.addChannelBias(v[0], v[1]))
        }
    }

    func testModulateAndGate() {
        let x = gradientTestTensor([2, 4, 5], seed: 86), shift = gradientTestTensor([2, 5], seed: 87)
        let scale = gradientTestTensor([2, 5], seed: 88, scale: 0.5)
        // Measured 8.8e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("modulate", [x, shift, scale], tolerance: 5e-4) { t, v in t.modulate(v[0], shift: v[1], scale: v[2]) * v[0] }
        // Measured 7.1e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("gate", [x, shift], tolerance: 4e-4) { t, v in t.gate(v[0], v[1]) * v[0] }
        // 20 channels: one full 16-channel SIMD strip plus a remainder.
        let wide = gradientTestTensor([2, 3, 20], seed: 91), s20 = gradientTestTensor([2, 20], seed: 92)
        let c20 = gradientTestTensor([2, 20], seed: 93, scale: 0.5)
        // Measured 8.4e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("modulate wide", [wide, s20, c20], tolerance: 5e-4) { t, v in t.modulate(v[0], shift: v[1], scale: v[2]) * v[0] }
        // Measured 1.6e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("gate wide", [wide, c20], tolerance: 8e-4) { t, v in t.gate(v[0], v[1]) * v[0] }
    }

    func testAddRowsBroadcastsOverTheBatch() {
        let x = gradientTestTensor([3, 4, 5], seed: 94), rows = gradientTestTensor([4, 5], seed: 95)
        // Measured 2.8e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("addRows", [x, rows], tolerance: 2e-4) { t, v in t.addRows(v[0], v[1]) * v[0] }
        // Measured 5.1e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("addRows rows only", [x, rows], differentiable: [false, true], tolerance: 3e-3) { t, v in
            t.silu(t.addRows(v[0], v[1]))
        }
    }

    func testReductionsAndLoss() {
        let a = gradientTestTensor([4, 6], seed: 89), b = gradientTestTensor([4, 6], seed: 90)
        // Measured 4.2e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("sum", [a], tolerance: 3e-3) { t, v in t.sum(t.silu(v[0])) }
        // Measured 3.7e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("mean", [a], tolerance: 2e-3) { t, v in t.mean(t.silu(v[0])) }
        // Measured 3.0e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("mseLoss", [a, b], tolerance: 2e-3) { t, v in t.mseLoss(t.silu(v[0]), v[1]) }
        let tape = Tape()
        let x = tape.leaf(a, requiresGrad: true)
        let loss = tape.mseLoss(x, tape.constant(b))
        var expected = 0.0
        for i in 0..<a.count { expected += Double(a.data[i] - b.data[i]) * Double(a.data[i] - b.data[i]) }
        XCTAssertEqual(Double(loss.value.data[0]), expected / 24, accuracy: 1e-6)
        loss.backward()
        for i in 0..<a.count { XCTAssertEqual(x.grad!.data[i], 2 * (a.data[i] - b.data[i]) / 24, accuracy: 1e-7) }
    }
}
