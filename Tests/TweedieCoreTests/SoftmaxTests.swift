import XCTest
import TweedieCore
import Foundation

final class SoftmaxTests: XCTestCase {
    private func reference(_ x: Tensor) -> [Double] {
        let d = x.shape.last!
        var y = [Double](repeating: 0, count: x.count)
        for start in stride(from: 0, to: x.count, by: d) {
            let row = (start..<(start + d)).map { Double(x.data[$0]) }
            let m = row.max()!
            let e = row.map { exp($0 - m) }
            let s = e.reduce(0, +)
            for i in 0..<d { y[start + i] = e[i] / s }
        }
        return y
    }

    func testRowsOfVariousLengths() {
        for (shape, seed) in [([3, 37], UInt64(1)), ([2, 2, 8], 2), ([4, 1], 3), ([2, 1500], 4)] {
            let x = randomTensor(shape, seed: seed, range: 5)
            // Measured error/allowance 1.1e-02 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
            assertClose(softmaxLastDim(x), reference(x), shape: shape, relative: 6e-7, absolute: 6e-8, "softmax \(shape)")
        }
    }

    func testLargeLogitsDoNotOverflow() {
        var x = randomTensor([3, 20], seed: 5, range: 30)
        x.data = x.data.enumerated().map { $0.offset < 20 ? $0.element + 1000 : $0.element - 500 }
        let y = softmaxLastDim(x)
        XCTAssertFalse(y.data.contains { !$0.isFinite })
        // Measured error/allowance 9.1e-03 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
        assertClose(y, reference(x), shape: [3, 20], relative: 5e-7, absolute: 5e-8, "softmax with large logits")
        for r in 0..<3 {
            XCTAssertEqual(y.data[(r * 20)..<(r * 20 + 20)].reduce(0, +), 1, accuracy: 1e-6)
        }
    }
}
