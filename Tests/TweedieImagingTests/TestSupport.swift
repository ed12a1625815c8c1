import Foundation
import TweedieCore
import TweedieImaging
import XCTest

/// Shared helpers for the imaging tests.
enum Support {
    /// Path of a committed fixture, found next to this source file (the target declares no resources).
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
            .appendingPathComponent(name).path
    }

    /// A fresh empty directory under the system temporary directory.
    static func tempDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-imaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Deterministic image content: each sample differs across x, y and channel.
    static func pattern(width: Int, height: Int, channels: Int, seed: Int = 0) -> PNGImage {
        var px = [UInt8](repeating: 0, count: width * height * channels)
        for i in 0..<px.count { px[i] = UInt8(truncatingIfNeeded: i * 37 + seed * 11 + (i / channels) * 5) }
        return PNGImage(width: width, height: height, channels: channels, pixels: px)
    }

    /// The 32-bit LCG used by scripts/make_imaging_fixtures.py: image a = LCG / 2^24, b = a plus a bounded
    /// integer perturbation, clipped. All values are exact in Float32.
    static func lcgImages(seedA: UInt32, seedB: UInt32, shape: [Int]) -> (Tensor, Tensor) {
        let n = shape.reduce(1, *)
        var (sa, sb) = (seedA, seedB)
        var a = [Float](repeating: 0, count: n), b = [Float](repeating: 0, count: n)
        for i in 0..<n {
            sa = sa &* 1_664_525 &+ 1_013_904_223
            sb = sb &* 1_664_525 &+ 1_013_904_223
            let ai = Int(sa >> 8)
            let d = Int(sb >> 8) % (1 << 21) - (1 << 20)
            a[i] = Float(ai) / 16_777_216
            b[i] = Float(min(max(ai + d, 0), (1 << 24) - 1)) / 16_777_216
        }
        return (Tensor(shape: shape, data: a), Tensor(shape: shape, data: b))
    }

    /// CRC-32 as PNG uses it, so tests can forge chunks with valid checksums.
    static func crc32(_ bytes: [UInt8]) -> UInt32 { Checksum.crc32(bytes) }

    /// Chunk types of a PNG stream in order, paired with their keyword for text chunks.
    static func chunkList(_ png: [UInt8]) -> [(type: String, keyword: String?)] {
        var out: [(type: String, keyword: String?)] = []
        var p = 8
        while p + 8 <= png.count {
            let len = Int(png[p]) << 24 | Int(png[p + 1]) << 16 | Int(png[p + 2]) << 8 | Int(png[p + 3])
            let type = String(decoding: png[p + 4..<p + 8], as: UTF8.self)
            var keyword: String?
            if ["tEXt", "iTXt", "zTXt"].contains(type), let nul = png[p + 8..<p + 8 + len].firstIndex(of: 0) {
                keyword = String(decoding: png[p + 8..<nul], as: UTF8.self)
            }
            out.append((type, keyword))
            p += 12 + len
        }
        return out
    }

    /// Asserts `body` throws a `TweedieError` with exit code 2 whose message contains `fragment`.
    static func assertBadInput(_ fragment: String, file: StaticString = #filePath, line: UInt = #line,
                               _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected TweedieError.badInput mentioning \(fragment)", file: file, line: line)
        } catch let error as TweedieError {
            XCTAssertEqual(error.exitCode, 2, "\(error)", file: file, line: line)
            XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'",
                          file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }
}
