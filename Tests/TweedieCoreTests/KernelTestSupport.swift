import XCTest
import TweedieCore

/// A tensor of deterministic uniform values in [-range, range).
func randomTensor(_ shape: [Int], seed: UInt64, range: Float = 1) -> Tensor {
    var g = SplitMix(seed: seed)
    return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in g.nextFloat() * range })
}

/// Asserts every element of `actual` is within `relative`·m + `absolute` of the Float64 reference, where m is
/// |expected| or, for sums of products, the element's `magnitudes` entry Σ|term| (the scale rounding works at).
func assertClose(_ actual: Tensor, _ expected: [Double], shape: [Int], magnitudes: [Double]? = nil,
                 relative: Double = 1e-5, absolute: Double = 1e-6, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, shape, "\(what): shape", file: file, line: line)
    XCTAssertEqual(actual.count, expected.count, "\(what): element count", file: file, line: line)
    guard actual.count == expected.count else { return }
    var worst = 0.0, worstIndex = -1
    for i in 0..<expected.count {
        let err = abs(Double(actual.data[i]) - expected[i])
        let excess = err - (relative * (magnitudes?[i] ?? abs(expected[i])) + absolute)
        // `!(excess <= 0)` so a NaN element (which compares false with everything) is a failure, not a pass.
        if !(excess <= 0) && (worstIndex < 0 || !(excess <= worst)) { worst = excess; worstIndex = i }
    }
    if worstIndex >= 0 {
        XCTFail("\(what): element \(worstIndex) is \(actual.data[worstIndex]), expected \(expected[worstIndex])",
                file: file, line: line)
    }
}

/// Asserts two tensors are identical in shape and elements.
func assertEqualTensors(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
    XCTAssertEqual(a.data, b.data, "\(what): elements", file: file, line: line)
}
