import Foundation
import TweedieImaging
import XCTest

final class PNGRoundTripTests: XCTestCase {
    func testRoundTripEveryLayoutAndOddSizes() throws {
        let dir = try Support.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for channels in 1...4 {
            for (w, h) in [(1, 1), (3, 5), (5, 3), (17, 2)] {
                let image = Support.pattern(width: w, height: h, channels: channels, seed: channels)
                let path = "\(dir)/img_\(channels)_\(w)x\(h).png"
                try image.write(to: path)
                let (back, text) = try PNGImage.read(path: path)
                XCTAssertEqual(back, image, "channels \(channels), \(w)x\(h)")
                XCTAssertTrue(text.isEmpty)
            }
        }
        // Only the final files remain: no temporaries left behind by the atomic writes.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertEqual(names.count, 16)
        XCTAssertTrue(names.allSatisfy { $0.hasPrefix("img_") && $0.hasSuffix(".png") })
    }

    func testOverwriteReplacesExistingFile() throws {
        let dir = try Support.tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/same.png"
        try Support.pattern(width: 4, height: 4, channels: 3).write(to: path)
        let second = Support.pattern(width: 2, height: 3, channels: 1, seed: 9)
        try second.write(to: path)
        XCTAssertEqual(try PNGImage.read(path: path).image, second)
    }

    func testInMemoryEncodingIsAValidPNGStream() throws {
        let image = Support.pattern(width: 8, height: 6, channels: 3)
        let bytes = try image.encoded()
        XCTAssertEqual(Array(bytes[0..<8]), [137, 80, 78, 71, 13, 10, 26, 10])
        let types = Support.chunkList(bytes).map(\.type)
        XCTAssertEqual(types.first, "IHDR")
        XCTAssertEqual(types.last, "IEND")
        XCTAssertEqual(try PNGImage.decode(bytes).image, image)
    }

    func testPILSixteenBitGrayIsScaledToEightBits() throws {
        let (image, _) = try PNGImage.read(path: Support.fixture("pil_gray16.png"))
        XCTAssertEqual([image.width, image.height, image.channels], [3, 2, 1])
        // 16-bit values 0, 257, 65535, 32768, 1000, 40000 scale to round(v / 257).
        XCTAssertEqual(image.pixels, [0, 1, 255, 128, 4, 156])
    }

    func testPILPaletteExpandsToRGB() throws {
        let (image, _) = try PNGImage.read(path: Support.fixture("pil_palette.png"))
        XCTAssertEqual(image.channels, 3)
        XCTAssertEqual(image.pixels, [255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 0])
    }

    func testChannelConversion() {
        let rgba = PNGImage(width: 2, height: 1, channels: 4, pixels: [255, 0, 0, 10, 10, 20, 30, 200])
        XCTAssertEqual(rgba.converted(toChannels: 3).pixels, [255, 0, 0, 10, 20, 30])
        // PIL "L": (299 R + 587 G + 114 B) / 1000, rounded.
        XCTAssertEqual(rgba.converted(toChannels: 1).pixels, [76, 18])
        XCTAssertEqual(rgba.converted(toChannels: 2).pixels, [76, 10, 18, 200])
        let gray = PNGImage(width: 1, height: 1, channels: 1, pixels: [42])
        XCTAssertEqual(gray.converted(toChannels: 4).pixels, [42, 42, 42, 255])
    }
}
