import XCTest
import TweedieCore

final class ShapeTests: XCTestCase {
    private func iota(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map(Float.init))
    }

    func testConcatAlongEachAxis() {
        let a = iota([2, 2, 3]), b = Tensor(shape: [2, 1, 3], data: (100..<106).map(Float.init))
        let mid = concat([a, b], axis: 1)
        XCTAssertEqual(mid.shape, [2, 3, 3])
        XCTAssertEqual(mid.data, [0, 1, 2, 3, 4, 5, 100, 101, 102, 6, 7, 8, 9, 10, 11, 103, 104, 105])
        let first = concat([a, a], axis: 0)
        XCTAssertEqual(first.shape, [4, 2, 3])
        XCTAssertEqual(first.data, a.data + a.data)
        let c = Tensor(shape: [2, 2, 1], data: [-1, -2, -3, -4])
        let last = concat([a, c], axis: -1)
        XCTAssertEqual(last.shape, [2, 2, 4])
        XCTAssertEqual(last.data, [0, 1, 2, -1, 3, 4, 5, -2, 6, 7, 8, -3, 9, 10, 11, -4])
    }

    func testSplitInvertsConcat() {
        let x = randomTensor([3, 7, 2], seed: 1)
        let parts = split(x, sizes: [2, 0, 5], axis: 1)
        XCTAssertEqual(parts.map(\.shape), [[3, 2, 2], [3, 0, 2], [3, 5, 2]])
        assertEqualTensors(concat(parts, axis: 1), x, "split then concat")
        XCTAssertEqual(parts[0].data, [x.data[0], x.data[1], x.data[2], x.data[3], x.data[14], x.data[15],
                                       x.data[16], x.data[17], x.data[28], x.data[29], x.data[30], x.data[31]])
    }

    func testChunkFollowsTorchSizes() {
        let x = iota([5, 2])
        XCTAssertEqual(chunk(x, 3, axis: 0).map(\.shape), [[2, 2], [2, 2], [1, 2]])
        XCTAssertEqual(chunk(iota([6]), 4, axis: 0).map(\.shape), [[2], [2], [2]])
        let halves = chunk(iota([2, 6]), 2, axis: -1)
        XCTAssertEqual(halves.map(\.data), [[0, 1, 2, 6, 7, 8], [3, 4, 5, 9, 10, 11]])
    }

    func testLayoutRoundTripAcrossTileEdges() {
        let (n, c, h, w) = (2, 40, 5, 7)
        let x = randomTensor([n, c, h, w], seed: 2)
        let tokens = nchwToNLC(x)
        XCTAssertEqual(tokens.shape, [n, h * w, c])
        for b in 0..<n { for ch in 0..<c { for p in 0..<(h * w) {
            XCTAssertEqual(tokens.data[(b * h * w + p) * c + ch], x.data[(b * c + ch) * h * w + p])
        } } }
        assertEqualTensors(nlcToNCHW(tokens, height: h, width: w), x, "NLC back to NCHW")
    }
}
