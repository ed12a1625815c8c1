import Foundation
import TweedieCore
import TweedieData
import XCTest

final class DataGzipTests: XCTestCase {
    /// The fixture's first member: regenerated with the formula of scripts/make_data_fixtures.py.
    private static func pattern() -> [UInt8] {
        var out: [UInt8] = []
        var state: UInt32 = 12345
        let common = Array("etaoinshrdlu ".utf8)
        for b in 0..<64 {
            for i in 0..<256 {
                switch b % 4 {
                case 0:
                    state = state &* 1_103_515_245 &+ 12345
                    let r = Int(state >> 16)
                    out.append(r % 4 != 0 ? common[r % 13] : UInt8((r >> 3) & 0xFF))
                case 1: out.append(out[out.count - (out.count >= 512 ? 512 : 256)])
                case 2: out.append(UInt8(b))
                default: out.append(Array("abcdefg".utf8)[i % 7])
                }
            }
        }
        return out
    }

    private let fixture = [UInt8](Data(base64Encoded: DataFixtures.twoMemberGzipBase64
        .replacingOccurrences(of: "\n", with: ""))!)

    func testCRC32CheckValueAndContinuation() {
        let digits = Array("123456789".utf8)
        XCTAssertEqual(Checksum.crc32(digits), 0xCBF4_3926)
        XCTAssertEqual(Checksum.crc32(digits[4...], continuing: Checksum.crc32(digits[..<4])), 0xCBF4_3926)
        XCTAssertEqual(Checksum.crc32([UInt8]()), 0)
        XCTAssertEqual(digits.withUnsafeBytes { Checksum.adler32($0) }, 0x091E_01DE)
    }

    func testTwoMembersWithAllHeaderFlags() throws {
        let pattern = Self.pattern()
        XCTAssertEqual(Checksum.crc32(pattern), DataFixtures.patternCRC)
        let out = try Gzip.decompress(fixture)
        XCTAssertEqual(out.count, pattern.count + 11)
        XCTAssertEqual(Array(out[..<pattern.count]), pattern)
        XCTAssertEqual(String(decoding: out[pattern.count...], as: UTF8.self), "member two\n")
    }

    func testZlibWrapperOfTheSameStream() throws {
        // Member 1's header: 10 fixed + FEXTRA (2 + 7) + FNAME "pattern.bin\0" (12) + FCOMMENT (16) + FHCRC (2).
        let body = Array(fixture[49..<(DataFixtures.firstMemberLength - 8)])
        let adler = Self.pattern().withUnsafeBytes { Checksum.adler32($0) }
        let zlib: [UInt8] = [0x78, 0xDA] + body + (0..<4).map { UInt8(truncatingIfNeeded: adler >> (24 - 8 * $0)) }
        XCTAssertEqual(try Inflate.zlib(zlib[...], limit: 1 << 20), Self.pattern())
        XCTAssertTrue(DataSupport.failureReason { _ = try Inflate.zlib(zlib[...], limit: 1000) }.contains("exceeds"))
        var badAdler = zlib
        badAdler[badAdler.count - 1] ^= 0x01
        XCTAssertTrue(DataSupport.failureReason { _ = try Inflate.zlib(badAdler[...], limit: 1 << 20) }
            .contains("Adler-32 mismatch"))
        XCTAssertTrue(DataSupport.failureReason { _ = try Inflate.zlib(zlib.dropLast(2), limit: 1 << 20) }
            .contains("truncated"))
        XCTAssertTrue(DataSupport.failureReason { _ = try Inflate.zlib([0x78, 0x00, 1, 2][...], limit: 1 << 20) }
            .contains("bad zlib header"))
    }

    func testCRCMismatchIsDetected() throws {
        // Flip one stored payload byte of member 2: the deflate data stays valid, only the CRC-32 can catch it.
        var bad = fixture
        let at = try XCTUnwrap(findBytes(Array("member two".utf8), in: bad, from: DataFixtures.firstMemberLength + 25))
        bad[at + 3] ^= 0x01
        let reason = DataSupport.failureReason { _ = try Gzip.decompress(bad) }
        XCTAssertTrue(reason.contains("member 2") && reason.contains("CRC-32 mismatch"), reason)
        // A corrupted stored CRC of member 1.
        var badTrailer = fixture
        badTrailer[DataFixtures.firstMemberLength - 8] ^= 0x80
        let r1 = DataSupport.failureReason { _ = try Gzip.decompress(badTrailer) }
        XCTAssertTrue(r1.contains("member 1") && r1.contains("CRC-32 mismatch"), r1)
    }

    func testISIZEHeaderCRCAndCorruptDeflateAreDetected() {
        var badSize = fixture
        badSize[badSize.count - 4] ^= 0x01
        XCTAssertTrue(DataSupport.failureReason { _ = try Gzip.decompress(badSize) }.contains("ISIZE"))
        var badComment = fixture
        badComment[40] ^= 0x20  // inside "tweedie fixture", covered by the header CRC16
        XCTAssertTrue(DataSupport.failureReason { _ = try Gzip.decompress(badComment) }.contains("header CRC16"))
        var badData = fixture
        for k in stride(from: 60, to: 400, by: 37) { badData[k] ^= 0x5A }
        XCTAssertFalse(DataSupport.failureReason { _ = try Gzip.decompress(badData) }.isEmpty)
    }

    func testTruncationTrailingBytesAndHeaderChecks() throws {
        let truncatedTrailer = Array(fixture.dropLast(3))
        XCTAssertTrue(DataSupport.failureReason { _ = try Gzip.decompress(truncatedTrailer) }.contains("truncated"))
        let cutMidStream = Array(fixture[..<1000])
        XCTAssertTrue(DataSupport.failureReason { _ = try Gzip.decompress(cutMidStream) }.contains("truncated"))
        XCTAssertEqual(try Gzip.decompress(fixture + [0, 0, 0, 0]).count, 16384 + 11)
        XCTAssertTrue(DataSupport.failureReason { _ = try Gzip.decompress(fixture + [1, 2, 3]) }
            .contains("trailing garbage"))
        var reserved = fixture
        reserved[3] |= 0x40
        XCTAssertTrue(DataSupport.failureReason { _ = try Gzip.decompress(reserved) }.contains("reserved"))
        XCTAssertTrue(DataSupport.failureReason { _ = try Gzip.decompress([0x50, 0x4B, 3, 4]) }.contains("magic"))
        XCTAssertTrue(DataSupport.failureReason { _ = try Gzip.decompress(fixture, limit: 5000) }.contains("exceeds"))
    }

    func testHandMadeStoredMembersIncludingEmptyAndMultiBlock() throws {
        XCTAssertEqual(try Gzip.decompress(DataSupport.storedGzip([])), [])
        let big = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 7 ^ $0 >> 9) }
        let two = DataSupport.storedGzip(big, name: "big") + DataSupport.storedGzip([1, 2, 3])
        XCTAssertEqual(try Gzip.decompress(two), big + [1, 2, 3])
    }

    func testDataFileReportsPathAndPackage() throws {
        let dir = try DataSupport.tempDirectory()
        var gz = DataSupport.storedGzip(Array("hello".utf8))
        gz[gz.count - 6] ^= 0xFF
        let path = try DataSupport.write(gz, to: dir, name: "bad.gz")
        let message = DataSupport.errorMessage { _ = try DataFile.read(path, package: "some-package") }
        XCTAssertTrue(message.hasPrefix(path + ": ") && message.contains("CRC-32"), message)
        let missing = DataSupport.errorMessage { _ = try DataFile.read(dir + "/nope.gz", package: "some-package") }
        XCTAssertTrue(missing.contains("apt-get install some-package"), missing)
    }

    private func findBytes(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (start...(haystack.count - needle.count)).first { Array(haystack[$0..<$0 + needle.count]) == needle }
    }
}
