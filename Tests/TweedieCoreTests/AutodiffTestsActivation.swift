import XCTest
import TweedieCore

/// Gradients of the elementwise activations and of softmax.
final class AutodiffActivationTests: XCTestCase {
    func testSiLU() {
        // Measured 3.1e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("silu", [gradientTestTensor([3, 40], seed: 41, scale: 4)], tolerance: 2e-4) { t, v in t.silu(v[0]) }
    }

    func testGELUExactAndTanh() {
        let x = gradientTestTensor([2, 50], seed: 42, scale: 4)
        // Measured 1.7e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("gelu exact", [x], tolerance: 9e-4) { t, v in t.gelu(v[0]) }
        // Measured 8.5e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("gelu tanh", [x], tolerance: 5e-4) { t, v in t.gelu(v[0], approximate: true) }
    }

    func testSigmoid() {
        // Measured 6.7e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("sigmoid", [gradientTestTensor([4, 25], seed: 43, scale: 5)], tolerance: 4e-4) { t, v in t.sigmoid(v[0]) }
    }

    func testSoftmax() {
        // Measured 3.8e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("softmax", [gradientTestTensor([3, 4, 7], seed: 44, scale: 3)], tolerance: 2e-3) { t, v in t.softmax(v[0]) }
    }
}
