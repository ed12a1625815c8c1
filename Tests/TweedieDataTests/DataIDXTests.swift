import Foundation
import TweedieCore
import TweedieData
import XCTest

final class DataIDXTests: XCTestCase {
    /// A 2x3x4 unsigned-byte IDX file with elements 0, 10, 20, ...
    private let tiny: [UInt8] = [0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4] + (0..<24).map { UInt8($0 * 10) }

    func testTinyHandMadeHeader() throws {
        let file = try IDXFile(bytes: tiny, path: "tiny.idx")
        XCTAssertEqual(file.dimensions, [2, 3, 4])
        XCTAssertEqual(file.values.count, 24)
        XCTAssertEqual(file.values[23], 230)
    }

    func testPlainAndGzipFilesReadTheSame() throws {
        let dir = try DataSupport.tempDirectory()
        let plain = try DataSupport.write(tiny, to: dir, name: "tiny-idx3-ubyte")
        let gz = try DataSupport.write(DataSupport.storedGzip(tiny, name: "tiny-idx3-ubyte"), to: dir,
                                       name: "tiny-idx3-ubyte.gz")
        XCTAssertEqual(try IDXFile.read(plain), try IDXFile.read(gz))
        XCTAssertEqual(try IDXFile.read(gz).dimensions, [2, 3, 4])
    }

    func testCorruptHeadersNameTheField() {
        func message(_ bytes: [UInt8]) -> String {
            DataSupport.errorMessage { _ = try IDXFile(bytes: bytes, path: "/data/x.idx") }
        }
        var badMagic = tiny
        badMagic[1] = 1
        XCTAssertTrue(message(badMagic).hasPrefix("/data/x.idx: IDX magic"), message(badMagic))
        var badType = tiny
        badType[2] = 0x0D
        XCTAssertTrue(message(badType).contains("IDX dtype: 0xd unsupported"), message(badType))
        XCTAssertTrue(message(Array(tiny.dropLast())).contains("IDX data: truncated"))
        XCTAssertTrue(message(tiny + [0]).contains("IDX data: 1 trailing bytes"))
        XCTAssertTrue(message(Array(tiny[..<10])).contains("IDX dimensions"))
        XCTAssertTrue(message([0, 0]).contains("IDX magic"))
        var huge = tiny
        huge[4] = 0xFF
        XCTAssertTrue(message(huge).contains("IDX dimension 0"), message(huge))
    }

    func testMissingFileNamesThePackage() throws {
        let dir = try DataSupport.tempDirectory()
        let m = DataSupport.errorMessage { _ = try IDXFile.read(dir + "/t10k-labels-idx1-ubyte.gz",
                                                                package: "dataset-fashion-mnist") }
        XCTAssertEqual(m, DatasetError.missing(dir + "/t10k-labels-idx1-ubyte.gz",
                                               package: "dataset-fashion-mnist").message)
    }
}
