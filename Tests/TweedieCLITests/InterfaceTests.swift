import Foundation
import XCTest
import Tweedie

/// One vocabulary across commands (issue 17): `info` output, `--version`, sd.cpp's short flags and aliases.
final class InterfaceTests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")

    func testInfoShowsClassesNullClassAndSchedulerAndEndsWithANewline() throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try GenerateCLI.run(["info", model], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\nclasses: 3 (0 Alpha, 1 Beta, 2 Gamma)\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\nnull class: 3 (classifier-free guidance)\n"), r.stdout)
        XCTAssertTrue(r.stdout.contains("\nscheduler: DDIMScheduler, 1000 train timesteps, scaled_linear betas"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("}\n"), String(r.stdout.suffix(20)))
        let unconditional = try GenerateCLI.run(["info", GenerateCLI.fixture("unet_ddim")], in: dir)
        XCTAssertTrue(unconditional.stdout.contains("\nclasses: none (unconditional)\nnull class: none"), unconditional.stdout)
        // A pipeline folder is described by its network.
        let pipeline = try GenerateCLI.run(["info", GenerateCLI.fixture("dit_pipe")], in: dir)
        XCTAssertEqual(pipeline.status, 0, pipeline.stderr)
        XCTAssertTrue(pipeline.stdout.contains("type: DiTTransformer2DModel\n"), pipeline.stdout)
        XCTAssertTrue(pipeline.stdout.contains("\nnull class: 1000 (classifier-free guidance)\n"), pipeline.stdout)

        let g = try GenerateCLI.run(["generate", "-m", model, "--quiet", "--steps", "2", "-o", "p.png"], in: dir)
        XCTAssertEqual(g.status, 0, g.stderr)
        let png = try GenerateCLI.run(["info", "p.png"], in: dir)
        XCTAssertEqual(png.status, 0, png.stderr)
        XCTAssertTrue(png.stdout.hasSuffix("apg norm threshold: 0\n"), String(png.stdout.suffix(40)))
    }

    func testVersion() throws {
        let r = try GenerateCLI.run(["--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, EngineVersion.string + "\n")
    }

    /// stable-diffusion.cpp's -s (seed), -t (threads) and --sampling-method mean what the long flags mean.
    func testShortFlagsAndSamplingMethodAlias() throws {
        let dir = try GenerateTesting.tempDir(self)
        let long = try GenerateCLI.run(["generate", "-m", model, "--quiet", "--steps", "3", "--seed", "21", "--threads", "1",
                                        "--sampler", "dpmpp_2m", "-o", "long.png"], in: dir)
        let short = try GenerateCLI.run(["generate", "-m", model, "--quiet", "--steps", "3", "-s", "21", "-t", "1",
                                         "--sampling-method", "dpmpp_2m", "-o", "short.png"], in: dir)
        XCTAssertEqual(long.status, 0, long.stderr)
        XCTAssertEqual(short.status, 0, short.stderr)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("long.png")),
                       try Data(contentsOf: dir.appendingPathComponent("short.png")))
        XCTAssertTrue(short.stdout.contains("seed 21"), short.stdout)
    }

    /// `generate --json` and `classify --json` share a vocabulary: class = id, label = name.
    func testGenerateJSONClassIsTheIdAndLabelTheName() throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try GenerateCLI.run(["generate", "-m", model, "--quiet", "--steps", "2", "--class", "2", "--json",
                                     "-o", "j.png"], in: dir)
        let line = try JSONSerialization.jsonObject(with: Data(r.lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(line["class"] as? Int, 2)
        XCTAssertEqual(line["label"] as? String, "Gamma")
    }
}
