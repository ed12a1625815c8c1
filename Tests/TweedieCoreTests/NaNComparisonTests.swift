import XCTest
import TweedieTestSupport
import TweedieCore

/// Every comparison helper of the suite, fed NaN and Inf: none may report a broken output as small. (Swift's `max`
/// drops a NaN operand, which is how an all-NaN output once scored 0 and passed.)
final class NaNComparisonTests: XCTestCase {
    let good = Tensor(shape: [4], data: [0.5, -1, 2, 0.25])

    func broken(_ v: Float, at i: Int = 2) -> Tensor {
        var t = good
        t.data[i] = v
        return t
    }

    func testTensorMaxAbsAndDifference() {
        XCTAssertTrue(broken(.nan).maxAbs.isNaN)
        XCTAssertTrue(Tensor(shape: [3], data: [.nan, .nan, .nan]).maxAbs.isNaN, "all-NaN")
        XCTAssertEqual(broken(.infinity).maxAbs, .infinity)
        XCTAssertTrue(broken(.nan).maxAbsDifference(good).isNaN)
        XCTAssertTrue(good.maxAbsDifference(broken(.nan, at: 0)).isNaN, "NaN in the reference")
        XCTAssertEqual(broken(-.infinity).maxAbsDifference(good), .infinity)
        XCTAssertTrue(broken(.infinity).maxAbsDifference(broken(.infinity)).isNaN, "Inf - Inf is no agreement")
        XCTAssertEqual(good.maxAbsDifference(good), 0)
    }

    func testRelativeAndAbsoluteErrors() {
        for bad in [Float.nan, .infinity, -.infinity] {
            XCTAssertTrue(relativeError(broken(bad), good).isNaN, "\(bad) in the output")
            XCTAssertTrue(relativeError(good, broken(bad)).isNaN, "\(bad) in the reference")
            XCTAssertTrue(maxAbsError(broken(bad), good).isNaN, "\(bad)")
            XCTAssertFalse(isWithin(Double(relativeError(broken(bad), good)), tolerance: 1e30))
        }
        XCTAssertEqual(relativeError(good, good), 0)
        XCTAssertEqual(relativeError(broken(2.5), good), 0.25, accuracy: 1e-7)
    }

    func testNaNMaxAndVerdict() {
        XCTAssertTrue(nanMax(0.1, Double.nan).isNaN)
        XCTAssertTrue(nanMax(Double.nan, 0.1).isNaN)
        XCTAssertTrue(nanMax([0.1, .nan, 0.3] as [Double]).isNaN)
        XCTAssertEqual(nanMax([0.1, 0.3, 0.2] as [Double]), 0.3)
        XCTAssertEqual(nanMax([Float.infinity, 1]), .infinity)
        XCTAssertFalse(isWithin(.nan, tolerance: 1))
        XCTAssertFalse(isWithin(.infinity, tolerance: .infinity), "an infinite error never passes")
        XCTAssertTrue(isWithin(1, tolerance: 1))
    }

    /// The Float64-reference comparison of the kernel tests.
    func testKernelAllowanceRatio() {
        let expected = good.data.map(Double.init)
        let nan = worstAllowanceRatio(broken(.nan), expected, magnitudes: nil, relative: 1e-5, absolute: 1e-6)
        XCTAssertTrue(nan.ratio.isNaN)
        XCTAssertEqual(nan.index, 2)
        let inf = worstAllowanceRatio(broken(.infinity), expected, magnitudes: nil, relative: 1e-5, absolute: 1e-6)
        XCTAssertEqual(inf.ratio, .infinity)
        let ok = worstAllowanceRatio(good, expected, magnitudes: nil, relative: 1e-5, absolute: 1e-6)
        XCTAssertEqual(ok.ratio, 0)
    }

    /// The finite-difference checker: an op whose output is NaN gives a NaN error, not 0.
    func testGradientCheckReportsNaN() {
        let x = gradientTestTensor([5], seed: 7)
        let weights = Tensor(shape: [5], data: [.nan, 1, 1, 1, 1])
        let poisoned = checkGradients("NaN output", [x], asserting: false) { t, v in v[0] * t.constant(weights) }
        XCTAssertTrue(poisoned.isNaN, "got \(poisoned)")
        let fine = checkGradients("x * x", [x], asserting: false) { _, v in v[0] * v[0] }
        XCTAssertLessThan(fine, 1e-2)
    }
}
