import Foundation
import TweedieCore
import XCTest
import TweedieTestSupport

/// Helpers shared by the data-layer tests.
enum DataSupport {
    /// A fresh empty directory under the system temporary directory.
    static func tempDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Writes `bytes` to `directory/name` and returns the path.
    static func write(_ bytes: [UInt8], to directory: String, name: String) throws -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A minimal single-member gzip file holding `payload` in stored (uncompressed) DEFLATE blocks — built by hand
    /// so the tests can make .gz inputs without a compressor.
    static func storedGzip(_ payload: [UInt8], flags: UInt8 = 0, name: String? = nil) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, flags | (name == nil ? 0 : 0x08), 0, 0, 0, 0, 0, 3]
        if let name { out += Array(name.utf8) + [0] }
        var rest = payload[...]
        repeat {
            let chunk = rest.prefix(65535)
            rest = rest.dropFirst(chunk.count)
            let len = UInt16(chunk.count)
            out += [rest.isEmpty ? 1 : 0, UInt8(len & 0xFF), UInt8(len >> 8), UInt8(~len & 0xFF), UInt8(~len >> 8)]
            out += chunk
        } while !rest.isEmpty
        return out + le32(Checksum.crc32(payload)) + le32(UInt32(truncatingIfNeeded: payload.count))
    }

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// The message of the `TweedieError` that `body` throws (fails the test when it throws nothing or another type).
    static func errorMessage(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let e as TweedieError {
            return e.message
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return ""
    }

    /// The reason of the `Inflate.Failure` that `body` throws.
    static func failureReason(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("expected a decompression failure", file: file, line: line)
        } catch let f as Inflate.Failure {
            return f.reason
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return ""
    }

    /// Skips the test when a file of a Debian data package is absent (.ci/run installs the packages); under CI the
    /// absence fails the test instead.
    static func require(_ path: String, package: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try TestEnvironment.requireFile(path, package: package, file: file, line: line)
    }
}
