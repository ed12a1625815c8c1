import XCTest
import TweedieTestSupport
import TweedieCore

/// A tensor of deterministic uniform values in [-range, range).
func randomTensor(_ shape: [Int], seed: UInt64, range: Float = 1) -> Tensor {
    var g = SplitMix64(seed: seed)
    return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in g.signedUnitFloat() * range })
}

/// Asserts every element of `actual` is within `relative`·m + `absolute` of the Float64 reference, where m is
/// |expected| or, for sums of products, the element's `magnitudes` entry Σ|term| (the scale rounding works at).
func assertClose(_ actual: Tensor, _ expected: [Double], shape: [Int], magnitudes: [Double]? = nil,
                 relative: Double = 1e-5, absolute: Double = 1e-6, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, shape, "\(what): shape", file: file, line: line)
    XCTAssertEqual(actual.count, expected.count, "\(what): element count", file: file, line: line)
    guard actual.count == expected.count else { return }
    let (worst, worstIndex) = worstAllowanceRatio(actual, expected, magnitudes: magnitudes, relative: relative,
                                                  absolute: absolute)
    guard worstIndex >= 0 else { return }
    assertMeasured(worst, tolerance: 1, "\(what): worst error / allowance (element \(worstIndex) is "
                   + "\(actual.data[worstIndex]), expected \(expected[worstIndex]))", file: file, line: line)
}

/// The worst element's error as a fraction of its allowance relative·m + absolute, and its index (-1 when empty).
/// NaN-proof: a NaN element makes the ratio NaN (and stops the scan), an infinite one makes it infinite. It is
/// recorded by `assertClose`, so the allowances can be set near what the kernels really achieve.
func worstAllowanceRatio(_ actual: Tensor, _ expected: [Double], magnitudes: [Double]?, relative: Double,
                         absolute: Double) -> (ratio: Double, index: Int) {
    var worst = 0.0, worstIndex = -1
    for i in 0..<min(actual.count, expected.count) {
        let err = abs(Double(actual.data[i]) - expected[i])
        let ratio = err / (relative * (magnitudes?[i] ?? abs(expected[i])) + absolute)
        if worstIndex < 0 || !(ratio <= worst) { worst = ratio; worstIndex = i }
        if ratio.isNaN { break }
    }
    return (worst, worstIndex)
}

/// Asserts two tensors are identical in shape and elements.
func assertEqualTensors(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
    XCTAssertEqual(a.data, b.data, "\(what): elements", file: file, line: line)
}
