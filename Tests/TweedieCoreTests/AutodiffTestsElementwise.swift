import XCTest
import TweedieCore

/// Gradients of elementwise arithmetic, broadcast helpers and reductions.
final class AutodiffElementwiseTests: XCTestCase {
    func testArithmeticOperators() {
        let a = gradientTestTensor([3, 7], seed: 81), b = gradientTestTensor([3, 7], seed: 82)
        checkGradients("add", [a, b]) { t, v in t.silu(v[0] + v[1]) }
        checkGradients("sub", [a, b]) { t, v in t.silu(v[0] - v[1]) }
        checkGradients("mul", [a, b]) { t, v in v[0] * v[1] }
        checkGradients("scale", [a]) { t, v in t.silu(0.5 * v[0] * 3) }
        // The same value on both sides: its gradient is the sum of both paths (d(x·x) = 2x).
        checkGradients("mul self", [a]) { t, v in v[0] * v[0] }
    }

    func testChannelBiasPerSampleAndShared() {
        let x = gradientTestTensor([2, 3, 2, 2], seed: 83)
        checkGradients("addChannelBias [N, C]", [x, gradientTestTensor([2, 3], seed: 84)]) { t, v in
            t.silu(t.addChannelBias(v[0], v[1]))
        }
        checkGradients("addChannelBias [C]", [x, gradientTestTensor([3], seed: 85)]) { t, v in
            t.silu(t.addChannelBias(v[0], v[1]))
        }
    }

    func testModulateAndGate() {
        let x = gradientTestTensor([2, 4, 5], seed: 86), shift = gradientTestTensor([2, 5], seed: 87)
        let scale = gradientTestTensor([2, 5], seed: 88, scale: 0.5)
        checkGradients("modulate", [x, shift, scale]) { t, v in t.modulate(v[0], shift: v[1], scale: v[2]) * v[0] }
        checkGradients("gate", [x, shift]) { t, v in t.gate(v[0], v[1]) * v[0] }
        // 20 channels: one full 16-channel SIMD strip plus a remainder.
        let wide = gradientTestTensor([2, 3, 20], seed: 91), s20 = gradientTestTensor([2, 20], seed: 92)
        let c20 = gradientTestTensor([2, 20], seed: 93, scale: 0.5)
        checkGradients("modulate wide", [wide, s20, c20]) { t, v in t.modulate(v[0], shift: v[1], scale: v[2]) * v[0] }
        checkGradients("gate wide", [wide, c20]) { t, v in t.gate(v[0], v[1]) * v[0] }
    }

    func testAddRowsBroadcastsOverTheBatch() {
        let x = gradientTestTensor([3, 4, 5], seed: 94), rows = gradientTestTensor([4, 5], seed: 95)
        checkGradients("addRows", [x, rows]) { t, v in t.addRows(v[0], v[1]) * v[0] }
        checkGradients("addRows rows only", [x, rows], differentiable: [false, true]) { t, v in
            t.silu(t.addRows(v[0], v[1]))
        }
    }

    func testReductionsAndLoss() {
        let a = gradientTestTensor([4, 6], seed: 89), b = gradientTestTensor([4, 6], seed: 90)
        checkGradients("sum", [a]) { t, v in t.sum(t.silu(v[0])) }
        checkGradients("mean", [a]) { t, v in t.mean(t.silu(v[0])) }
        checkGradients("mseLoss", [a, b]) { t, v in t.mseLoss(t.silu(v[0]), v[1]) }
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
