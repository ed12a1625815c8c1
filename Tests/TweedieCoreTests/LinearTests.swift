import XCTest
import TweedieCore

final class LinearTests: XCTestCase {
    /// Float64 x·wᵀ + b with Σ|term| of each output.
    private func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor?) -> ([Double], [Double]) {
        let (outF, inF) = (w.shape[0], w.shape[1])
        let rows = x.count / inF
        var y = [Double](repeating: 0, count: rows * outF), mag = y
        for r in 0..<rows { for o in 0..<outF {
            var s = b.map { Double($0.data[o]) } ?? 0
            var m = abs(s)
            for i in 0..<inF {
                let t = Double(x.data[r * inF + i]) * Double(w.data[o * inF + i])
                s += t
                m += abs(t)
            }
            y[r * outF + o] = s
            mag[r * outF + o] = m
        } }
        return (y, mag)
    }

    private func check(_ x: Tensor, _ w: Tensor, _ b: Tensor?, shape: [Int], _ what: String,
                       allowance: Double = 1, line: UInt = #line) {
        let (expected, magnitudes) = reference(x, w, b)
        assertClose(linear(x, weight: w, bias: b), expected, shape: shape, magnitudes: magnitudes,
                    relative: 1e-5 * allowance, absolute: 1e-6 * allowance, what, line: line)
    }

    func testLinearWithBiasOnRank3Input() {
        let x = randomTensor([2, 3, 5], seed: 1), w = randomTensor([4, 5], seed: 2), b = randomTensor([4], seed: 3)
        // Measured error/allowance 4.3e-03 (worst of 5 OpenBLAS kernels).
        check(x, w, b, shape: [2, 3, 4], "linear with bias", allowance: 3e-2)
    }

    func testLinearWithoutBiasAndSingleRow() {
        let x = randomTensor([1, 33], seed: 4), w = randomTensor([17, 33], seed: 5)
        // Measured error/allowance 1.0e-02 (worst of 5 OpenBLAS kernels).
        check(x, w, nil, shape: [1, 17], "linear without bias", allowance: 6e-2)
        let v = randomTensor([33], seed: 6)
        // Measured error/allowance 1.2e-02 (worst of 5 OpenBLAS kernels).
        check(v, w, nil, shape: [17], "linear on a vector", allowance: 7e-2)
    }

    func testLinearManyRows() {
        let x = randomTensor([300, 24], seed: 7), w = randomTensor([40, 24], seed: 8), b = randomTensor([40], seed: 9)
        // Measured error/allowance 1.5e-02 (worst of 5 OpenBLAS kernels).
        check(x, w, b, shape: [300, 40], "linear 300 rows", allowance: 8e-2)
    }
}
