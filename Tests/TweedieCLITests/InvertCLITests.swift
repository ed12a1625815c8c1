import Foundation
import XCTest
import TweedieTestSupport
import Tweedie

/// `tweedie invert` and `tweedie generate --embedding` on the unet_cond fixture (16x16, classes 0-2, null 3):
/// the concept samples with its own class id and the PNGs record it; bad input is one line, exit 2, no output.
final class InvertCLITests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")

    /// `count` PNGs of `size` in `dir/name`.
    private func references(_ dir: URL, _ name: String, count: Int, size: Int = 16, odd: Int? = nil) throws -> String {
        let folder = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in 0..<count {
            let s = i == odd ? size / 2 : size
            let pixels = (0..<(s * s * 3)).map { UInt8(truncatingIfNeeded: ($0 * 7 + i * 31) % 251) }
            try PNGImage(width: s, height: s, channels: 3, pixels: pixels)
                .write(to: folder.appendingPathComponent("ref_\(i).png").path)
        }
        return folder.path
    }

    func testInvertThenGenerateRecordsTheEmbedding() throws {
        let dir = try GenerateTesting.tempDir(self)
        let refs = try references(dir, "stripes", count: 3)
        for method in ["zo", "backprop"] {
            let r = try GenerateCLI.run(["invert", "-m", model, "--images", refs, "--method", method, "--steps", "3",
                                         "--batch", "2", "--tau", "2", "--out", "\(method).safetensors", "--json"], in: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("\"class_id\":4"), r.stdout)
            XCTAssertTrue(r.stdout.contains("\"forward_passes_per_step\":\(method == "zo" ? 3 : 1)"), r.stdout)
        }
        let g = try GenerateCLI.run(["generate", "-m", model, "--embedding", "zo.safetensors", "-b", "2", "--steps", "3",
                                     "--seed", "5", "--quiet", "--json", "-o", "img_%d.png"], in: dir)
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stdout.contains("\"class\":4") && g.stdout.contains("\"label\":\"stripes\""), g.stdout)
        let info = try GenerateCLI.run(["info", "img_1.png"], in: dir)
        XCTAssertTrue(info.stdout.contains("embedding: zo.safetensors"), info.stdout)
        XCTAssertTrue(info.stdout.contains("embedding sha256: "), info.stdout)

        // --from needs the embedding named again, and then re-makes the image bit for bit.
        let bare = try GenerateCLI.run(["generate", "-m", model, "--from", "img_1.png", "--quiet", "-o", "again.png"], in: dir)
        XCTAssertEqual(bare.status, 2)
        XCTAssertTrue(bare.stderr.contains("--embedding"), bare.stderr)
        let again = try GenerateCLI.run(["generate", "-m", model, "--from", "img_1.png", "--embedding", "zo.safetensors",
                                         "--quiet", "-o", "again.png"], in: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        let a = try Data(contentsOf: dir.appendingPathComponent("img_1.png"))
        let b = try Data(contentsOf: dir.appendingPathComponent("again.png"))
        XCTAssertEqual(a, b, "re-made from its metadata")
    }

    private func assertRejected(_ args: [String], in dir: URL, mentions: [String], file: StaticString = #filePath,
                                line: UInt = #line) throws {
        let before = GenerateTesting.files(dir)
        let r = try GenerateCLI.run(args, in: dir)
        XCTAssertEqual(r.status, 2, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "'\(m)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertEqual(GenerateTesting.files(dir), before, "nothing written", file: file, line: line)
    }

    func testBadInputIsOneLineAndWritesNothing() throws {
        let dir = try GenerateTesting.tempDir(self)
        let good = try references(dir, "good", count: 3)
        let empty = dir.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        let mixed = try references(dir, "mixed", count: 3, odd: 1)
        let small = try references(dir, "small", count: 2, size: 8)
        let base = ["invert", "-m", model, "--steps", "2", "--out", "e.safetensors"]
        try assertRejected(base + ["--images", empty], in: dir, mentions: ["--images", "no .png"])
        try assertRejected(base + ["--images", mixed], in: dir, mentions: ["ref_1.png", "8x8", "16x16"])
        try assertRejected(base + ["--images", small], in: dir, mentions: ["8x8", "16x16"])
        try assertRejected(base + ["--images", good, "--method", "adam"], in: dir, mentions: ["--method", "adam", "zo", "backprop"])
        try assertRejected(base + ["--images", good, "--nu", "1"], in: dir, mentions: ["--nu"])
        try assertRejected(base + ["--images", good, "-m", GenerateCLI.fixture("unet_ddim")], in: dir,
                           mentions: ["class-embedding table"])

        // An embedding of another width (8 where the fixture's table is wider) is refused by generate.
        let wide = dir.appendingPathComponent("other.safetensors").path
        try ClassEmbeddingFile(rows: [("class_embedding.weight", Tensor(shape: [8]))], label: "x").write(to: wide)
        try assertRejected(["generate", "-m", model, "--embedding", wide, "--quiet", "-o", "x.png"], in: dir,
                           mentions: [wide, "8 wide"])
        try assertRejected(["generate", "-m", model, "--embedding", model + "/latents.safetensors", "--quiet",
                            "-o", "x.png"], in: dir, mentions: ["not a tweedie class embedding"])
    }
}
