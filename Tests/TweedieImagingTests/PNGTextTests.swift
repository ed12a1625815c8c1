import Foundation
import TweedieImaging
import XCTest

final class PNGTextTests: XCTestCase {
    func testTextRoundTripWithLongJSONAndNonASCII() throws {
        let dir = try Support.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let json = "{" + (0..<4000).map { "\"step\($0)\": {\"sigma\": \(Double($0) * 0.001), \"ok\": true}" }
            .joined(separator: ", ") + "}"
        XCTAssertGreaterThan(json.utf8.count, 100_000)
        let text: [(key: String, value: String)] = [
            ("parameters", "a red fox\nNegative prompt: blur\nSteps: 20, Sampler: Euler a, Seed: 42"),
            ("tweedie", json),
            ("Comment", "café crème"),          // Latin-1 only: stays tEXt
            ("Title", "狐 — ünïcödé ✓ 🦊"),    // needs UTF-8: iTXt
            ("Empty", ""),
            ("Comment", "a second entry with the same key"),
        ]
        let image = Support.pattern(width: 3, height: 5, channels: 3)
        let path = "\(dir)/text.png"
        try image.write(to: path, text: text)
        let (back, read) = try PNGImage.read(path: path)
        XCTAssertEqual(back, image)
        XCTAssertEqual(read.map(\.key), text.map(\.key))
        XCTAssertEqual(read.map(\.value), text.map(\.value))
        XCTAssertEqual(textValue("tweedie", in: read), json)
        XCTAssertNil(textValue("missing", in: read))

        // A1111 compatibility: `parameters` and Latin-1 values are plain tEXt; only the non-Latin-1 one is iTXt;
        // all text precedes the image data.
        let chunks = Support.chunkList(try Array(Data(contentsOf: URL(fileURLWithPath: path))))
        let textChunks = chunks.filter { $0.keyword != nil }
        XCTAssertEqual(textChunks.map(\.type), ["tEXt", "tEXt", "tEXt", "iTXt", "tEXt", "tEXt"])
        let firstIDAT = chunks.firstIndex { $0.type == "IDAT" }!
        XCTAssertTrue(chunks.indices.filter { chunks[$0].keyword != nil }.allSatisfy { $0 < firstIDAT })
    }

    func testLatin1ValueIsStoredAsLatin1Bytes() throws {
        let bytes = try PNGImage(width: 1, height: 1, channels: 1).encoded(text: [("Comment", "é")])
        // keyword "Comment", NUL, then the single Latin-1 byte 0xE9 (not the two UTF-8 bytes).
        let needle: [UInt8] = Array("tEXtComment".utf8) + [0, 0xE9]
        XCTAssertNotNil(bytes.indices.first { Array(bytes[$0..<min($0 + needle.count, bytes.count)]) == needle })
    }

    func testPILWrittenTextChunksOfEveryKind() throws {
        let (image, text) = try PNGImage.read(path: Support.fixture("pil_text_rgb.png"))
        XCTAssertEqual([image.width, image.height, image.channels], [4, 3, 3])
        for y in 0..<3 {
            for x in 0..<4 {
                XCTAssertEqual([image[x: x, y: y, c: 0], image[x: x, y: y, c: 1], image[x: x, y: y, c: 2]],
                               [UInt8(x * 60 + 7), UInt8(y * 100 + 3), UInt8((x * 31 + y * 17) % 256)])
            }
        }
        XCTAssertEqual(text.map(\.key), ["parameters", "Comment", "Title", "Packed", "PackedUnicode",
                                         "PackedJSON", "Stored"])
        XCTAssertEqual(textValue("parameters", in: text),
                       "a watercolor fox, highly detailed\nNegative prompt: blurry\n"
                           + "Steps: 20, Sampler: Euler a, CFG scale: 7")
        XCTAssertEqual(textValue("Comment", in: text), "café au lait")
        XCTAssertEqual(textValue("Title", in: text), "狐 — fox")
        XCTAssertEqual(textValue("Packed", in: text), String(repeating: "zlib ", count: 40))
        XCTAssertEqual(textValue("PackedUnicode", in: text), String(repeating: "über ", count: 30) + "狐")
        // Same formula as packed_json() in scripts/make_imaging_fixtures.py (dynamic Huffman blocks).
        let packed = "{" + (0..<300).map { i in
            "\"k\(i)\": [\(i * i % 97), \(i * 7919 % 1000), \"v\(i * i * i % 13)\"]"
        }.joined(separator: ", ") + "}"
        XCTAssertEqual(textValue("PackedJSON", in: text), packed)
        XCTAssertEqual(textValue("Stored", in: text), "stored deflate block")
    }

    func testInvalidKeywordsAreRejected() {
        let image = PNGImage(width: 1, height: 1, channels: 1)
        for key in ["", " lead", "trail ", "dou  ble", String(repeating: "k", count: 80), "tab\tkey", "狐"] {
            Support.assertBadInput("out.png") { _ = try image.encoded(text: [(key, "v")], name: "out.png") }
        }
        Support.assertBadInput("NUL") { _ = try image.encoded(text: [("k", "a\u{0}b")]) }
        XCTAssertNoThrow(try image.encoded(text: [(String(repeating: "k", count: 79), "v")]))
    }
}
