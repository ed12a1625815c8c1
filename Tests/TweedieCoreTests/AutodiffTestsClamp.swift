import XCTest
import TweedieCore

/// Gradient of `Tape.clamp`: the identity inside the bounds, zero where clamped.
final class AutodiffClampTests: XCTestCase {
    func testClampPassesTheGradientInsideTheBoundsOnly() {
        // Values in [-2, 2) kept at least 0.1 away from the bounds ±1, so the five-point differences (h 1e-2,
        // reaching 2h) never cross a kink.
        var x = gradientTestTensor([3, 40], seed: 181, scale: 2)
        for i in 0..<x.count where abs(abs(x.data[i]) - 1) < 0.1 { x.data[i] += x.data[i] > 0 ? 0.25 : -0.25 }
        // Measured 1.0e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("clamp", [x], tolerance: 1e-4) { t, v in t.clamp(v[0], -1, 1) * v[0] }
        let tape = Tape()
        let leaf = tape.leaf(Tensor(shape: [4], data: [-3, -0.5, 0.5, 3]), requiresGrad: true)
        let y = tape.clamp(leaf, -1, 1)
        XCTAssertEqual(y.value.data, [-1, -0.5, 0.5, 1])
        XCTAssertEqual(tape.gradients(of: tape.sum(y), wrt: [leaf])[0].data, [0, 1, 1, 0])
    }
}
