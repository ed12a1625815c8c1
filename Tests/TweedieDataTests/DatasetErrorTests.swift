import XCTest
import TweedieData

final class DatasetErrorTests: XCTestCase {
    func testMissingNamesPackage() {
        let e = DatasetError.missing("/nope/x.gz", package: "dataset-fashion-mnist")
        XCTAssertEqual(e.exitCode, 2)
        XCTAssertTrue(e.message.contains("/nope/x.gz") && e.message.contains("apt-get install dataset-fashion-mnist"))
    }
}
