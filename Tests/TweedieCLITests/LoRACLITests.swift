import Foundation
import XCTest
import Tweedie
import TweedieTestSupport

/// `tweedie generate --lora FILE[:SCALE]`: strength 0 is the base model bit for bit, the PNG records the LoRA
/// (name, hash, strength) so `--from` re-makes the image only with the same file at the same strength, and a
/// file for another model or a negative strength is one line with exit 2.
final class LoRACLITests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")

    /// A LoRA trained for a few updates on the fixture, in `dir`/run/lora.safetensors.
    private func lora(in dir: URL) throws -> String {
        let out = dir.appendingPathComponent("run").path
        let r = try GenerateCLI.run(["finetune", "-m", model, "--steps", "3", "--batch", "2", "--accumulate", "1",
                                     "--sampling-steps", "3", "--truncation", "full", "--lr", "5e-2", "--out", out,
                                     "--progress", "none", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return out + "/lora.safetensors"
    }

    private func generate(_ dir: URL, _ name: String, _ extra: [String]) throws -> GenerateCLI.Result {
        try GenerateCLI.run(["generate", "-m", model, "-b", "2", "--steps", "4", "--seed", "7", "--quiet", "--threads", "1",
                             "-o", dir.appendingPathComponent(name + "_%d.png").path,
                             "--save-tensor", dir.appendingPathComponent(name + ".safetensors").path] + extra)
    }

    func testStrengthZeroIsTheBaseModelAndTheRecipeRemakesTheImage() throws {
        let dir = try GenerateTesting.tempDir(self)
        let file = try lora(in: dir)
        for (name, extra) in [("base", []), ("zero", ["--lora", file + ":0"]), ("lora", ["--lora", file + ":0.7"])] {
            let r = try generate(dir, name, extra)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let base = try GenerateTesting.tensor(dir.appendingPathComponent("base.safetensors").path)
        XCTAssertEqual(try GenerateTesting.tensor(dir.appendingPathComponent("zero.safetensors").path), base)
        let tuned = try GenerateTesting.tensor(dir.appendingPathComponent("lora.safetensors").path)
        XCTAssertGreaterThan(GenerateTesting.relativeError(tuned, base), 1e-3, "the LoRA must change the samples")
        let png = dir.appendingPathComponent("lora_1.png").path
        let info = try GenerateCLI.run(["info", png])
        XCTAssert(info.stdout.contains("Lora hashes: \"lora: ") && info.stdout.contains("lora: lora.safetensors at 0.7"),
                  info.stdout)
        // --from needs the file again, at the stored strength; then the PNG comes out byte for byte.
        let again = dir.appendingPathComponent("again.png").path
        let missing = try GenerateCLI.run(["generate", "--from", png, "-m", model, "-o", again, "--quiet"])
        XCTAssertEqual(missing.status, 2)
        XCTAssert(missing.stderr.contains("made with the LoRA lora.safetensors:0.7; give --lora"), missing.stderr)
        let other = try GenerateCLI.run(["generate", "--from", png, "-m", model, "-o", again, "--quiet", "--lora", file])
        XCTAssertEqual(other.status, 2)
        XCTAssert(other.stderr.contains("the LoRAs are lora.safetensors:1"), other.stderr)
        let same = try GenerateCLI.run(["generate", "--from", png, "-m", model, "-o", again, "--quiet",
                                        "--lora", file + ":0.7"])
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: again)), try Data(contentsOf: URL(fileURLWithPath: png)))
    }

    func testBadLoRAsAreOneLineAndWriteNothing() throws {
        let dir = try GenerateTesting.tempDir(self)
        let file = try lora(in: dir)
        let out = try GenerateTesting.tempDir(self)
        for (args, mention) in [
            (["-m", model, "--lora", file + ":-1"], "the scale must be a finite number >= 0, got -1.0"),
            (["-m", model, "--lora", out.path + "/missing.safetensors"], "missing.safetensors"),
            (["-m", GenerateCLI.fixture("dit_pipe"), "--lora", file],
             "a LoRA for UNet2DModel, the model is DiTTransformer2DModel"),
        ] {
            let r = try GenerateCLI.run(["generate", "--quiet", "-o", out.path + "/x.png"] + args)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssert(r.stderr.contains(mention), r.stderr)
            XCTAssertEqual(GenerateTesting.files(out), [])
        }
    }
}
