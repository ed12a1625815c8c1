import XCTest
import TweedieCore

/// Gradients of e^x and |x| against central differences (the VAE's posterior sample, KL term and L1 loss).
final class AutodiffExpAbsTests: XCTestCase {
    func testExponentialAndAbsoluteValue() {
        let x = gradientTestTensor([3, 7], seed: 91)
        // Measured 1.4e-5 and 1.5e-5 (Haswell kernel).
        let e = checkGradients("exponential", [x], tolerance: 1.5e-4) { t, v in t.exponential(v[0]) * v[0] }
        // |x| is not differentiable at 0: keep every element at least 0.05 away, beyond the difference step h.
        let away = Tensor(shape: x.shape, data: x.data.map { $0 + ($0 >= 0 ? 0.05 : -0.05) })
        let a = checkGradients("absoluteValue", [away], tolerance: 1.5e-4) { t, v in t.absoluteValue(v[0]) * v[0] }
        print("exponential \(e), absoluteValue \(a)")
        let t = Tape()
        let z = t.leaf(Tensor(shape: [3], data: [-2, 0, 3]), requiresGrad: true)
        XCTAssertEqual(t.gradients(of: t.sum(t.absoluteValue(z)), wrt: [z])[0].data, [-1, 0, 1])
    }
}
