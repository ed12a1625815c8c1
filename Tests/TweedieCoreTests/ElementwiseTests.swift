import XCTest
import TweedieCore

final class ElementwiseTests: XCTestCase {
    func testBinaryOpsAndOperators() {
        // Long enough to be cut into parallel chunks.
        let a = randomTensor([3, 70_001], seed: 1), b = randomTensor([3, 70_001], seed: 2)
        let pairs = zip(a.data, b.data)
        XCTAssertEqual(add(a, b).data, pairs.map { $0 + $1 })
        XCTAssertEqual(sub(a, b).data, pairs.map { $0 - $1 })
        XCTAssertEqual(mul(a, b).data, pairs.map { $0 * $1 })
        XCTAssertEqual(scale(a, -2.5).data, a.data.map { $0 * -2.5 })
        assertEqualTensors(a + b, add(a, b), "+")
        assertEqualTensors(a - b, sub(a, b), "-")
        assertEqualTensors(a * b, mul(a, b), "*")
        assertEqualTensors(a * 0.5, scale(a, 0.5), "* scalar")
        XCTAssertEqual((a + b).shape, [3, 70_001])
    }

    func testSmallTensors() {
        let a = Tensor(shape: [2, 2], data: [1, 2, 3, 4]), b = Tensor(shape: [2, 2], data: [10, 20, 30, 40])
        XCTAssertEqual((b - a * 2).data, [8, 16, 24, 32])
        XCTAssertEqual(scale(Tensor(shape: [0], data: []), 3).shape, [0])
    }
}
