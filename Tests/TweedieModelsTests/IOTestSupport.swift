import Foundation
import XCTest
import TweedieCore

/// A fresh temporary directory for one test, removed by `remove()` (call it in a defer).
struct IOScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("tweedie-io-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Absolute path of `name` inside the directory.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// File names currently in the directory, sorted.
    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// Raw safetensors bytes: the 8-byte little-endian length (`declaredLength`, default the real one), the header
/// text, then `data`. Lets tests build files the writer would never produce.
func ioRawSafeTensors(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
    let h = Array(header.utf8)
    var out = Data()
    withUnsafeBytes(of: (declaredLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: h)
    out.append(contentsOf: data)
    return out
}

/// Little-endian bytes of 16-bit patterns.
func ioBytes(_ values: [UInt16]) -> [UInt8] { values.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }

/// Asserts that `body` throws a one-line `TweedieError` with exit code 2 whose message contains every string in
/// `parts` (typically the file path and the field or tensor name).
func assertBadInput(_ parts: [String], file: StaticString = #filePath, line: UInt = #line,
                    _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected badInput containing \(parts), nothing was thrown", file: file, line: line)
    } catch let error as TweedieError {
        XCTAssertEqual(error.exitCode, 2, "exit code for: \(error.message)", file: file, line: line)
        XCTAssertFalse(error.message.contains("\n"), "message is not one line: \(error.message)",
                       file: file, line: line)
        for p in parts {
            XCTAssertTrue(error.message.contains(p), "message \"\(error.message)\" lacks \"\(p)\"",
                          file: file, line: line)
        }
    } catch {
        XCTFail("expected TweedieError, got \(error)", file: file, line: line)
    }
}
