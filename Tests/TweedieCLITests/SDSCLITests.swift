import Foundation
import XCTest
import TweedieTestSupport
import Tweedie

/// `tweedie sds` on the dit_pipe fixture (random-weight class-conditional DiT over a random 16x16x3 -> 4x8x8
/// AutoencoderKL): the outputs, frames and texture are written, a seed repeats bit for bit, the timesteps stay in
/// the documented ranges, and the clip modes report what they changed.
final class SDSCLITests: XCTestCase {
    private let pipe = GenerateCLI.fixture("dit_pipe")

    private func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }

    func testWritesImageFramesAndRepeats() throws {
        let dir = try GenerateTesting.tempDir(self)
        let args = ["sds", "-m", pipe, "--class", "3", "--steps", "4", "--seed", "1", "--cfg-scale", "5", "--quiet", "--json"]
        let a = try GenerateCLI.run(args + ["-o", "a.png", "--frames", "frames", "--frame-every", "2"], in: dir)
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stderr, "")
        let b = try GenerateCLI.run(args + ["-o", "b.png"], in: dir)
        XCTAssertEqual(b.status, 0, b.stderr)
        let (image, text) = try PNGImage.read(path: dir.appendingPathComponent("a.png").path)
        XCTAssertEqual([image.width, image.height, image.channels], [16, 16, 3])
        XCTAssertEqual(try PNGImage.read(path: dir.appendingPathComponent("b.png").path).image, image)
        XCTAssertTrue(textValue("tweedie", in: text)?.contains("\"command\":\"sds\"") ?? false)
        XCTAssertEqual(GenerateTesting.files(dir.appendingPathComponent("frames")), ["step_00002.png", "step_00004.png"])
        XCTAssertEqual(try PNGImage.read(path: dir.appendingPathComponent("frames/step_00004.png").path).image, image)
        let report = try json(a.stdout)
        let ts = report["timesteps"] as! [Int]
        XCTAssertEqual(ts.count, 4)
        XCTAssertTrue(ts.allSatisfy { (20...980).contains($0) }, "\(ts)")
        XCTAssertEqual(ts, try json(b.stdout)["timesteps"] as! [Int])

        // Another seed moves the image; from an init image t stays in [0.02, 0.5]·T.
        let c = try GenerateCLI.run(["sds", "-m", pipe, "--class", "3", "--steps", "4", "--seed", "2", "--quiet", "-o", "c.png"], in: dir)
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertNotEqual(try PNGImage.read(path: dir.appendingPathComponent("c.png").path).image, image)
        let d = try GenerateCLI.run(["sds", "-m", pipe, "--class", "3", "--steps", "6", "--init", "a.png", "--quiet",
                                     "--json", "-o", "d.png"], in: dir)
        XCTAssertEqual(d.status, 0, d.stderr)
        let tsInit = try json(d.stdout)["timesteps"] as! [Int]
        XCTAssertTrue(tsInit.allSatisfy { (20...500).contains($0) }, "\(tsInit)")
    }

    func testClipModesAndTexture() throws {
        let dir = try GenerateTesting.tempDir(self)
        func run(_ extra: [String]) throws -> [String: Any] {
            let r = try GenerateCLI.run(["sds", "-m", pipe, "--class", "7", "--steps", "2", "--quiet", "--json",
                                         "-o", "x.png"] + extra, in: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try json(r.stdout)
        }
        let none = try run(["--clip", "none"])
        XCTAssertEqual(none["clipped_fraction"] as! [Double], [0, 0])
        XCTAssertEqual(none["pixel_grad_norm"] as! [Double], none["clipped_grad_norm"] as! [Double])
        // A threshold far below the gradient clips every pixel (pixel), every element (clamp) or the image (global),
        // and each bounds the norm it promises: c·√(H·W·3) at most for pixel and clamp, exactly c·√(H·W) for global.
        let c = 1e-6, bound = c * (16.0 * 16 * 3).squareRoot()
        for mode in ["pixel", "clamp", "global"] {
            let r = try run(["--clip", mode, "--clip-value", "\(c)"])
            let fractions = r["clipped_fraction"] as! [Double], clipped = r["clipped_grad_norm"] as! [Double]
            XCTAssertTrue(fractions.allSatisfy { $0 > 0.99 }, "\(mode): \(fractions)")
            XCTAssertEqual(r["pixel_grad_norm"] as! [Double], none["pixel_grad_norm"] as! [Double], mode)
            XCTAssertTrue(clipped.allSatisfy { $0 <= bound * 1.001 + 1e-6 }, "\(mode): \(clipped)")
            if mode == "global" { for n in clipped { XCTAssertEqual(n, c * 16, accuracy: 1e-6) } }
        }
        let t = try GenerateCLI.run(["sds", "-m", pipe, "--class", "7", "--steps", "2", "--quiet", "--render", "texture",
                                     "--texture-size", "24", "--save-texture", "tex.png", "-o", "view.png"], in: dir)
        XCTAssertEqual(t.status, 0, t.stderr)
        let tex = try PNGImage.read(path: dir.appendingPathComponent("tex.png").path).image
        XCTAssertEqual([tex.width, tex.height], [24, 24])
        XCTAssertEqual(try PNGImage.read(path: dir.appendingPathComponent("view.png").path).image.width, 16)
    }
}
