import XCTest
import TweedieCore
import TweedieTuning

final class TuningParametersTests: XCTestCase {
    func testKeepsOrderAndRejectsDuplicatesAndEmptyLists() throws {
        let p = try TuningParameters([("b", Tensor(shape: [2], data: [1, 2])), ("a", Tensor(shape: [1], data: [3]))])
        XCTAssertEqual(p.names, ["b", "a"])
        XCTAssertEqual(p.count, 3)
        XCTAssertEqual(p["a"]?.data, [3])
        XCTAssertEqual(p.zeros().map(\.shape), [[2], [1]])
        XCTAssertThrowsError(try TuningParameters([("a", Tensor(shape: [1])), ("a", Tensor(shape: [1]))]))
        XCTAssertThrowsError(try TuningParameters([]))
    }
}
