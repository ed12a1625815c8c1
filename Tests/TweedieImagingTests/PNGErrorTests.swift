import Foundation
import TweedieCore
import TweedieImaging
import XCTest

final class PNGErrorTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws { dir = try Support.tempDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    private func validPNG() throws -> [UInt8] {
        try Support.pattern(width: 9, height: 7, channels: 3).encoded(text: [("parameters", "x")])
    }

    private func save(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = "\(dir)/\(name)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testTruncatedFilesAreBadInputNamingThePath() throws {
        let png = try validPNG()
        for cut in [0, 5, 8, 20, png.count / 2, png.count - 1] {
            let path = try save(Array(png[0..<cut]), "truncated_\(cut).png")
            Support.assertBadInput(path) { _ = try PNGImage.read(path: path) }
        }
    }

    func testCorruptCRCAndSignatureAreBadInput() throws {
        var png = try validPNG()
        png[png.count - 20] ^= 0xFF  // inside the last IDAT: its CRC no longer matches
        let crcPath = try save(png, "crc.png")
        Support.assertBadInput("CRC") { _ = try PNGImage.read(path: crcPath) }
        Support.assertBadInput(crcPath) { _ = try PNGImage.read(path: crcPath) }

        let textPath = try save(Array("not an image at all".utf8), "text.png")
        Support.assertBadInput(textPath) { _ = try PNGImage.read(path: textPath) }
        Support.assertBadInput("missing.png") { _ = try PNGImage.read(path: "\(self.dir)/missing.png") }
        Support.assertBadInput(dir) { _ = try PNGImage.read(path: self.dir) }
    }

    /// Compressed data that is garbage but carries valid CRCs gets past the chunk walker: libpng's own error
    /// must surface as badInput too (the simplified API keeps its longjmp inside C).
    func testCorruptImageDataWithValidCRCIsBadInput() throws {
        let png = try validPNG()
        var out = Array(png[0..<8])
        var p = 8
        while p < png.count {
            let len = Int(png[p]) << 24 | Int(png[p + 1]) << 16 | Int(png[p + 2]) << 8 | Int(png[p + 3])
            let type = Array(png[p + 4..<p + 8])
            var data = Array(png[p + 8..<p + 8 + len])
            if type == Array("IDAT".utf8) { for i in 2..<data.count { data[i] = UInt8(truncatingIfNeeded: i * 73) } }
            out += png[p..<p + 8] + data
            let crc = Support.crc32(type + data)
            out += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
            p += 12 + len
        }
        let path = try save(out, "garbage_idat.png")
        Support.assertBadInput(path) { _ = try PNGImage.read(path: path) }
    }

    func testCorruptErrorsCarryExitCodeTwo() throws {
        let path = try save(Array(try validPNG().prefix(30)), "short.png")
        XCTAssertThrowsError(try PNGImage.read(path: path)) { error in
            XCTAssertEqual((error as? TweedieError)?.exitCode, 2)
        }
    }

    func testUnwritableOutputIsBadInputAndLeavesNoFile() throws {
        let image = Support.pattern(width: 2, height: 2, channels: 3)
        let missingDir = "\(dir)/no/such/dir/out.png"
        Support.assertBadInput(missingDir) { try image.write(to: missingDir) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missingDir))

        // Renaming over an existing directory fails after the bytes were written: the temporary must go.
        let occupied = "\(dir)/occupied.png"
        try FileManager.default.createDirectory(atPath: occupied, withIntermediateDirectories: false)
        Support.assertBadInput(occupied) { try image.write(to: occupied, text: [("parameters", "p")]) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["occupied.png"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: occupied), [])

        Support.assertBadInput(dir) { try image.write(to: "\(self.dir)/") }
    }
}
