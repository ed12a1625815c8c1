import XCTest
import TweedieCore

/// Gradients of the elementwise activations and of softmax.
final class AutodiffActivationTests: XCTestCase {
    func testSiLU() {
        checkGradients("silu", [gradientTestTensor([3, 40], seed: 41, scale: 4)]) { t, v in t.silu(v[0]) }
    }

    func testGELUExactAndTanh() {
        let x = gradientTestTensor([2, 50], seed: 42, scale: 4)
        checkGradients("gelu exact", [x]) { t, v in t.gelu(v[0]) }
        checkGradients("gelu tanh", [x]) { t, v in t.gelu(v[0], approximate: true) }
    }

    func testSigmoid() {
        checkGradients("sigmoid", [gradientTestTensor([4, 25], seed: 43, scale: 5)]) { t, v in t.sigmoid(v[0]) }
    }

    func testSoftmax() {
        checkGradients("softmax", [gradientTestTensor([3, 4, 7], seed: 44, scale: 3)]) { t, v in t.softmax(v[0]) }
    }
}
