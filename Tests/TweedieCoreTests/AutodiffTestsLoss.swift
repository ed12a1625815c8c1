import XCTest
import TweedieTestSupport
import TweedieCore

/// Log-softmax and softmax cross-entropy: values against direct formulas, gradients by finite differences.
final class AutodiffLossTests: XCTestCase {
    func testLogSoftmaxValuesAndStability() {
        let x = Tensor(shape: [2, 3], data: [1, 2, 3, 1000, 0, -1000])
        let y = logSoftmaxLastDim(x)
        let lse = log(exp(1.0) + exp(2.0) + exp(3.0))
        for i in 0..<3 { XCTAssertEqual(Double(y.data[i]), Double(i + 1) - lse, accuracy: 1e-6) }
        // Huge logits: no overflow, the dominant class gets log-probability 0.
        XCTAssertEqual(y.data[3], 0, accuracy: 1e-6)
        XCTAssertEqual(y.data[4], -1000, accuracy: 1e-3)
        XCTAssertEqual(y.data[5], -2000, accuracy: 1e-3)
    }

    func testCrossEntropyValues() {
        // Equal logits: −log(1/K) whatever the label.
        let flat = crossEntropy(logits: Tensor(shape: [2, 4], repeating: 0.5), labels: [0, 3])
        XCTAssertEqual(Double(flat.loss), log(4.0), accuracy: 1e-6)
        // Row 0 is confidently right, row 1 confidently wrong by 50: mean ≈ (0 + 50) / 2.
        let sharp = crossEntropy(logits: Tensor(shape: [2, 2], data: [60, 10, 60, 10]), labels: [0, 1])
        XCTAssertEqual(sharp.loss, 25, accuracy: 1e-4)
        // Smoothing ε over K classes: (1 − ε)·CE + ε·mean over classes of −log p.
        let x = Tensor(shape: [1, 3], data: [0.3, -1.2, 2.0])
        let lp = logSoftmaxLastDim(x).data.map(Double.init)
        let eps = 0.1
        let expected = -(1 - eps) * lp[1] - eps / 3 * lp.reduce(0, +)
        XCTAssertEqual(Double(crossEntropy(logits: x, labels: [1], labelSmoothing: 0.1).loss), expected,
                       accuracy: 1e-6)
    }

    func testTapeLossMatchesKernel() {
        let x = gradientTestTensor([5, 7], seed: 71, scale: 3)
        let labels = [0, 6, 3, 3, 1]
        let tape = Tape()
        let leaf = tape.leaf(x, requiresGrad: true)
        let loss = tape.crossEntropy(leaf, labels: labels)
        XCTAssertEqual(loss.shape, [])
        let direct = crossEntropy(logits: x, labels: labels)
        XCTAssertEqual(loss.value.data[0], direct.loss)
        // The fused pullback equals log-softmax's backward of the one-hot cotangent −onehot/N.
        let g = tape.gradients(of: loss, wrt: [leaf])[0]
        var cotangent = Tensor(shape: x.shape)
        for (r, l) in labels.enumerated() { cotangent.data[r * 7 + l] = -1 / Float(labels.count) }
        let expected = logSoftmaxBackward(gradOutput: cotangent, output: direct.logProbabilities)
        // Measured 0 (the same arithmetic) (worst of 5 OpenBLAS kernels); 1e-7 is one float32 rounding of these O(1) values.
        assertMeasured(g.maxAbsDifference(expected), tolerance: 1e-7, "fused cross-entropy pullback")
    }

    func testLogSoftmaxGradient() {
        // Measured 1.6e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("logSoftmax", [gradientTestTensor([3, 2, 6], seed: 72, scale: 3)], tolerance: 9e-4) { t, v in
            t.logSoftmax(v[0])
        }
    }

    func testCrossEntropyGradient() {
        let x = gradientTestTensor([6, 10], seed: 73, scale: 3)
        let labels = [9, 0, 4, 4, 7, 2]
        // Measured 1.8e-03 (worst of 5 OpenBLAS kernels).
        checkGradients("crossEntropy", [x], tolerance: 9e-3) { t, v in t.crossEntropy(v[0], labels: labels) }
        // Measured 1.8e-03 (worst of 5 OpenBLAS kernels).
        checkGradients("crossEntropy smoothed", [x], tolerance: 1e-2) { t, v in
            t.crossEntropy(v[0], labels: labels, labelSmoothing: 0.2)
        }
    }

    func testCrossEntropyRowsOfGradientSumToZero() {
        let x = gradientTestTensor([4, 5], seed: 74, scale: 2)
        let tape = Tape()
        let leaf = tape.leaf(x, requiresGrad: true)
        tape.crossEntropy(leaf, labels: [1, 2, 3, 4], labelSmoothing: 0.1).backward()
        let g = leaf.grad!
        for r in 0..<4 {
            XCTAssertEqual(g.data[r * 5..<(r + 1) * 5].reduce(0, +), 0, accuracy: 1e-6)
            XCTAssertLessThan(g.data[r * 5 + r + 1], 0, "the labelled logit is pushed up")
        }
    }

    func testCrossEntropyThroughLinearLayer() {
        // The composite a classifier head trains: logits = x·Wᵀ + b, then cross-entropy.
        let inputs = [gradientTestTensor([4, 6], seed: 75), gradientTestTensor([3, 6], seed: 76, scale: 0.5),
                      gradientTestTensor([3], seed: 77, scale: 0.5)]
        // Measured 1.7e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("linear + crossEntropy", inputs, tolerance: 9e-4) { t, v in
            t.crossEntropy(t.linear(v[0], v[1], v[2]), labels: [2, 0, 1, 2])
        }
    }
}
