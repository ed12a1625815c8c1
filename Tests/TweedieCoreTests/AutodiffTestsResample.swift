import XCTest
import TweedieCore

/// Gradients of up/downsampling, embedding lookup and counter-based dropout.
final class AutodiffResampleTests: XCTestCase {
    func testUpsampleNearest() {
        // Measured 2.4e-03 (worst of 5 OpenBLAS kernels).
        checkGradients("upsampleNearest2x", [gradientTestTensor([2, 2, 3, 2], seed: 71)], tolerance: 2e-2) { t, v in
            t.silu(t.upsampleNearest2x(v[0]))
        }
    }

    func testAvgPoolWithRemainder() {
        // 5×7 with kernel 2 drops the last row and column; kernel 3 drops none of 6×6.
        // Measured 3.1e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("avgPool2d k2", [gradientTestTensor([1, 2, 5, 7], seed: 72)], tolerance: 2e-3) { t, v in
            t.silu(t.avgPool2d(v[0]))
        }
        // Measured 2.0e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("avgPool2d k3", [gradientTestTensor([2, 1, 6, 6], seed: 73)], tolerance: 1e-4) { t, v in
            t.silu(t.avgPool2d(v[0], kernel: 3))
        }
        let g = avgPool2dBackward(gradOutput: Tensor(shape: [1, 1, 2, 3], repeating: 1), inputShape: [1, 1, 5, 7])
        XCTAssertEqual(g.data[4 * 7], 0)
        XCTAssertEqual(g.data[6], 0)
        XCTAssertEqual(g.data[0], 0.25)
    }

    func testEmbeddingScatterAddsRepeatedRows() {
        let table = gradientTestTensor([5, 4], seed: 74)
        // Measured 2.1e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("embedding", [table], tolerance: 2e-4) { t, v in t.silu(t.embedding([3, 0, 3, 4], table: v[0])) }
        let g = embeddingBackward(gradOutput: Tensor(shape: [3, 4], repeating: 1), indices: [2, 2, 0], tableShape: [5, 4])
        XCTAssertEqual(g.data, [1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    func testCounterDropoutIsReproducibleAndDifferentiable() {
        let x = gradientTestTensor([4, 500], seed: 75)
        let t1 = Tape(), t2 = Tape(), t3 = Tape()
        let a = t1.dropout(t1.constant(x), probability: 0.3, seed: 9).value
        let b = t2.dropout(t2.constant(x), probability: 0.3, seed: 9).value
        let c = t3.dropout(t3.constant(x), probability: 0.3, seed: 10).value
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        let dropped = a.data.filter { $0 == 0 }.count
        XCTAssertEqual(Double(dropped) / 2000, 0.3, accuracy: 0.04)
        for i in 0..<x.count where a.data[i] != 0 { XCTAssertEqual(a.data[i], x.data[i] / 0.7, accuracy: 1e-6) }
        // Measured 9.1e-06 (worst of 5 OpenBLAS kernels).
        checkGradients("dropout", [gradientTestTensor([3, 20], seed: 76)], tolerance: 5e-5) { t, v in
            t.silu(t.dropout(v[0], probability: 0.5, seed: 3))
        }
    }
}
