import XCTest
import TweedieTestSupport
import TweedieCore

final class ResampleTests: XCTestCase {
    func testUpsampleNearest2x() {
        let (n, c, h, w) = (2, 3, 2, 3)
        let x = randomTensor([n, c, h, w], seed: 1)
        let y = upsampleNearest2x(x)
        XCTAssertEqual(y.shape, [n, c, 2 * h, 2 * w])
        for p in 0..<(n * c) { for oy in 0..<(2 * h) { for ox in 0..<(2 * w) {
            XCTAssertEqual(y.data[(p * 2 * h + oy) * 2 * w + ox], x.data[(p * h + oy / 2) * w + ox / 2])
        } } }
    }

    private func checkPool(_ shape: [Int], kernel: Int, seed: UInt64) {
        let x = randomTensor(shape, seed: seed)
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let ho = h / kernel, wo = w / kernel
        var expected = [Double]()
        for p in 0..<(n * c) { for oy in 0..<ho { for ox in 0..<wo {
            var s = 0.0
            for ky in 0..<kernel { for kx in 0..<kernel {
                s += Double(x.data[(p * h + oy * kernel + ky) * w + ox * kernel + kx])
            } }
            expected.append(s / Double(kernel * kernel))
        } } }
        // Measured error/allowance 4.5e-03 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
        assertClose(avgPool2d(x, kernel: kernel), expected, shape: [n, c, ho, wo], relative: 3e-7, absolute: 3e-8, "avgPool2d \(shape) k\(kernel)")
    }

    func testAvgPoolDropsIncompleteWindows() {
        checkPool([2, 3, 4, 6], kernel: 2, seed: 2)
        checkPool([1, 2, 5, 7], kernel: 2, seed: 3)
        checkPool([1, 1, 7, 9], kernel: 3, seed: 4)
    }

    func testAvgPoolUndoesUpsample() {
        let x = randomTensor([1, 2, 3, 5], seed: 5)
        let y = avgPool2d(upsampleNearest2x(x))
        XCTAssertEqual(y.shape, x.shape)
        // Exact: the mean of four equal floats is that float.
        assertMeasured(y.maxAbsDifference(x), tolerance: Float(0), "avgPool2d undoes upsampleNearest2x")
    }
}
