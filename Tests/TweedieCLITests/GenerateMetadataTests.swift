import Foundation
import XCTest
import Tweedie

/// PNG metadata, --from re-creation, seeds, batches, output naming and JSON lines of `tweedie generate`.
final class GenerateMetadataTests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")

    @discardableResult
    private func run(_ args: [String], in dir: URL, file: StaticString = #filePath, line: UInt = #line) throws
        -> GenerateCLI.Result {
        let r = try GenerateCLI.run(["generate", "--quiet"] + args, in: dir)
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return r
    }

    func testPNGCarriesA1111ParametersAndRecipe() throws {
        let dir = try GenerateTesting.tempDir(self)
        try run(["-m", model, "--class", "1", "--steps", "4", "--sampler", "euler_a", "--schedule", "karras",
                 "--guidance", "apg", "--cfg-scale", "2.5", "--seed", "42", "-o", "a.png"], in: dir)
        let text = try PNGImage.read(path: dir.appendingPathComponent("a.png").path).text
        let parameters = try XCTUnwrap(textValue("parameters", in: text))
        let lines = parameters.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "class: 1 (Beta)")
        XCTAssertTrue(lines[1].hasPrefix("Steps: 4, Sampler: euler_a, Schedule type: karras, CFG scale: 2.5, Seed: 42, "
                                         + "Size: 16x16, Model hash: "), lines[1])
        for part in ["Model: unet_cond", "Guidance: apg", "APG momentum: -0.5", "RNG: philox",
                     "Version: \(EngineVersion.string)"] {
            XCTAssertTrue(lines[1].contains(part), "\(part) not in \(lines[1])")
        }
        let recipe = try ImageRecipe(json: try XCTUnwrap(textValue("tweedie", in: text)), source: "a.png")
        XCTAssertEqual(recipe.engine, EngineVersion.string)
        XCTAssertEqual(recipe.settings.seed, 42)
        XCTAssertEqual(recipe.settings.classID, 1)
        XCTAssertEqual(recipe.settings.cfgScale, 2.5)
        XCTAssertEqual(recipe.model.weightsSHA256,
                       try SHA256.hex(fileAt: model + "/diffusion_pytorch_model.safetensors"))
        // No absolute path is stored: the model by name and hash only.
        XCTAssertNil(recipe.model.path)
        XCTAssertFalse(textValue("tweedie", in: text)!.contains(GenerateCLI.fixtures.path))
        // The text `tweedie info` prints for the PNG.
        let described = try ImageMetadata.describe(pngAt: dir.appendingPathComponent("a.png").path)
        for part in ["image: 16x16, 3 channels", "  class: 1 (Beta)", "  seed: 42", "  sampler: euler_a",
                     "  guidance: apg", "  weights sha256: \(recipe.model.weightsSHA256)"] {
            XCTAssertTrue(described.contains(part), "\(part) not in:\n\(described)")
        }
    }

    /// A BF16 run stores its precision in the recipe, `--from` re-makes it bit for bit in BF16, and
    /// `--precision f32` on top re-makes it in Float32 instead (other pixels, no precision key).
    func testFromKeepsTheRunsPrecision() throws {
        try XCTSkipIf(!ComputePrecision.bfloat16Available, "no oneDNN BF16 convolution on this CPU")
        let dir = try GenerateTesting.tempDir(self)
        try run(["-m", model, "--steps", "4", "--seed", "3", "--precision", "bf16", "-o", "b.png",
                 "--save-tensor", "b.safetensors"], in: dir)
        let original = try PNGImage.read(path: dir.appendingPathComponent("b.png").path)
        let recipe = try ImageRecipe(json: textValue("tweedie", in: original.text)!, source: "b.png")
        XCTAssertEqual(recipe.settings.precision, "bf16")
        XCTAssertTrue(textValue("parameters", in: original.text)!.contains("Precision: bf16"))
        try run(["--from", "b.png", "-m", model, "-o", "re.png", "--save-tensor", "re.safetensors"], in: dir)
        XCTAssertEqual(try GenerateTesting.tensor(dir.appendingPathComponent("b.safetensors").path).data,
                       try GenerateTesting.tensor(dir.appendingPathComponent("re.safetensors").path).data)
        try run(["--from", "b.png", "-m", model, "--precision", "f32", "-o", "f.png", "--save-tensor", "f.safetensors"],
                in: dir)
        XCTAssertNotEqual(try GenerateTesting.tensor(dir.appendingPathComponent("b.safetensors").path).data,
                          try GenerateTesting.tensor(dir.appendingPathComponent("f.safetensors").path).data)
        let f32 = try PNGImage.read(path: dir.appendingPathComponent("f.png").path)
        XCTAssertNil(try ImageRecipe(json: textValue("tweedie", in: f32.text)!, source: "f.png").settings.precision)
    }

    /// Image 2 of a three-image batch, re-made alone from its PNG, is bit-identical (pixels and final tensor), for
    /// both noise generators and with every guidance and schedule knob in play.
    func testFromRemakesOneImageOfABatchBitExactly() throws {
        let dir = try GenerateTesting.tempDir(self)
        for rng in ["philox", "torch"] {
            try run(["-m", model, "-b", "3", "--start-index", "5", "--sampler", "euler_a", "--steps", "5",
                     "--schedule", "karras", "--guidance", "apg", "--apg-eta", "0.3", "--apg-norm-threshold", "2",
                     "--guidance-interval", "0.2,0.9", "--seed", "11", "--rng", rng, "-o", "\(rng)_%02d.png",
                     "--save-tensor", "\(rng).safetensors"], in: dir)
            XCTAssertEqual(Set(GenerateTesting.files(dir).filter { $0.hasPrefix(rng) }),
                           ["\(rng)_05.png", "\(rng)_06.png", "\(rng)_07.png", "\(rng).safetensors"])
            let again = try run(["--from", "\(rng)_07.png", "-m", model, "-o", "re_\(rng).png",
                                 "--save-tensor", "re_\(rng).safetensors"], in: dir)
            XCTAssertTrue(again.stdout.contains("seed 18"), again.stdout)
            let original = try PNGImage.read(path: dir.appendingPathComponent("\(rng)_07.png").path)
            let remade = try PNGImage.read(path: dir.appendingPathComponent("re_\(rng).png").path)
            XCTAssertEqual(original.image, remade.image, rng)
            let batch = try GenerateTesting.tensor(dir.appendingPathComponent("\(rng).safetensors").path)
            let single = try GenerateTesting.tensor(dir.appendingPathComponent("re_\(rng).safetensors").path)
            XCTAssertEqual(GenerateTesting.item(batch, 2).data, single.data, rng)
            // The same recipe, index included: the PNG is re-made byte for byte.
            let a = try ImageRecipe(json: textValue("tweedie", in: original.text)!, source: "a")
            let b = try ImageRecipe(json: textValue("tweedie", in: remade.text)!, source: "b")
            XCTAssertEqual(a.index, 7)
            XCTAssertEqual(a, b)
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("\(rng)_07.png")),
                           try Data(contentsOf: dir.appendingPathComponent("re_\(rng).png")), rng)
        }
        // The two generators give different pictures from the same seed.
        XCTAssertNotEqual(try PNGImage.read(path: dir.appendingPathComponent("philox_05.png").path).image,
                          try PNGImage.read(path: dir.appendingPathComponent("torch_05.png").path).image)
    }

    func testFromWithLatentsAndOverrides() throws {
        let dir = try GenerateTesting.tempDir(self)
        let latents = model + "/latents.safetensors"
        try run(["-m", model, "--latents", latents, "--sampler", "ddim", "--steps", "6", "--class", "2",
                 "-o", "l_%d.png", "--save-tensor", "l.safetensors"], in: dir)
        try run(["--from", "l_1.png", "-m", model, "--latents", latents, "-o", "re.png", "--save-tensor", "re.safetensors"],
                in: dir)
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("l_1.png")),
                       try Data(contentsOf: dir.appendingPathComponent("re.png")))
        let batch = try GenerateTesting.tensor(dir.appendingPathComponent("l.safetensors").path)
        let single = try GenerateTesting.tensor(dir.appendingPathComponent("re.safetensors").path)
        XCTAssertEqual(GenerateTesting.item(batch, 1).data, single.data)
        // An explicit flag overrides the stored value: fewer steps, a different picture, recorded as such.
        try run(["--from", "l_1.png", "-m", model, "--latents", latents, "--steps", "3", "-o", "short.png"], in: dir)
        let short = try ImageMetadata.recipe(fromPNGAt: dir.appendingPathComponent("short.png").path)
        XCTAssertEqual(short.settings.steps, 3)
        XCTAssertEqual(short.settings.classID, 2)
        XCTAssertEqual(short.settings.latentsOffset, 1)
        XCTAssertNotEqual(try PNGImage.read(path: dir.appendingPathComponent("short.png").path).image,
                          try PNGImage.read(path: dir.appendingPathComponent("re.png").path).image)
    }

    func testRandomSeedIsEchoedAndJSONLines() throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try run(["-m", model, "-b", "2", "--steps", "2", "--json", "-o", "j_%d.png", "--grid", "grid.png"], in: dir)
        let objects = try r.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(objects.count, 3)
        let first = objects[0], second = objects[1]
        let seed = try XCTUnwrap(first["seed"] as? NSNumber).uint64Value
        XCTAssertEqual((second["seed"] as? NSNumber)?.uint64Value, seed + 1)
        XCTAssertEqual(first["path"] as? String, "j_0.png")
        // Without --class the classes cycle.
        XCTAssertEqual(first["class"] as? Int, 0)
        XCTAssertEqual(second["class"] as? Int, 1)
        XCTAssertEqual(second["label"] as? String, "Beta")
        let summary = try XCTUnwrap(objects[2]["summary"] as? [String: Any])
        XCTAssertEqual(summary["images"] as? Int, 2)
        XCTAssertEqual(summary["sampler"] as? String, "euler_a")
        XCTAssertEqual(summary["guidance"] as? String, "cfg")
        let grid = try PNGImage.read(path: dir.appendingPathComponent("grid.png").path).image
        XCTAssertEqual(grid.width, 2 * 16 + 3 * 2)
        // The echoed seed re-makes the same image.
        try run(["-m", model, "--steps", "2", "--seed", "\(seed + 1)", "--class", "1", "-o", "again.png"], in: dir)
        XCTAssertEqual(try PNGImage.read(path: dir.appendingPathComponent("j_1.png").path).image,
                       try PNGImage.read(path: dir.appendingPathComponent("again.png").path).image)
    }

    /// Each JSON line's saturation is that of the PNG written, its clipped_fraction the share of the image's
    /// final-tensor values outside [-1, 1]; the summary holds their means.
    func testJSONLinesCarrySaturationAndClippedFraction() throws {
        let dir = try GenerateTesting.tempDir(self)
        // A random-weight model at a high scale overshoots [-1, 1] in some pixels of some images.
        let r = try run(["-m", model, "-b", "3", "--steps", "3", "--cfg-scale", "8", "--seed", "5", "--json",
                         "-o", "s_%d.png", "--save-tensor", "s.safetensors"], in: dir)
        let objects = try r.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(objects.count, 4)
        let samples = try GenerateTesting.tensor(dir.appendingPathComponent("s.safetensors").path)
        var saturations: [Double] = [], fractions: [Double] = []
        for (i, object) in objects.prefix(3).enumerated() {
            let png = try PNGImage.read(path: dir.appendingPathComponent("s_\(i).png").path).image
            let saturation = try XCTUnwrap(object["saturation"] as? Double)
            XCTAssertEqual(saturation, try ImageMetrics.meanSaturation([png]), accuracy: 1e-6)
            let values = GenerateTesting.item(samples, i).data
            let outside = values.filter { !($0 >= -1 && $0 <= 1) }.count
            let fraction = try XCTUnwrap(object["clipped_fraction"] as? Double)
            XCTAssertEqual(fraction, Double(outside) / Double(values.count), accuracy: 1e-6)
            saturations.append(saturation)
            fractions.append(fraction)
        }
        XCTAssertGreaterThan(fractions.max()!, 0, "the test needs an image with clipped values")
        XCTAssertGreaterThan(saturations.max()!, 0)
        let summary = try XCTUnwrap(objects[3]["summary"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(summary["saturation"] as? Double), saturations.reduce(0, +) / 3, accuracy: 1e-5)
        XCTAssertEqual(try XCTUnwrap(summary["clipped_fraction"] as? Double), fractions.reduce(0, +) / 3,
                       accuracy: 1e-5)
    }

    func testDisableImageMetadata() throws {
        let dir = try GenerateTesting.tempDir(self)
        try run(["-m", model, "--steps", "2", "--seed", "1", "--disable-image-metadata", "-o", "bare.png"], in: dir)
        let png = try PNGImage.read(path: dir.appendingPathComponent("bare.png").path)
        XCTAssertTrue(png.text.isEmpty)
        let r = try GenerateCLI.run(["generate", "--from", "bare.png"], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("no tweedie metadata"), r.stderr)
    }

    func testUnconditionalModelWithDefaultScheduler() throws {
        // A bare folder without scheduler_config.json falls back to DDPM's linear betas.
        let dir = try GenerateTesting.tempDir(self)
        let folder = dir.appendingPathComponent("plain")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for f in ["config.json", "diffusion_pytorch_model.safetensors"] {
            try FileManager.default.copyItem(atPath: GenerateCLI.fixture("unet_ddim") + "/" + f,
                                             toPath: folder.appendingPathComponent(f).path)
        }
        let r = try run(["-m", folder.path, "--steps", "3", "--sampler", "dpmpp_2m", "--seed", "3", "-o", "u.png"], in: dir)
        XCTAssertFalse(r.stdout.contains("class"), r.stdout)
        let recipe = try ImageMetadata.recipe(fromPNGAt: dir.appendingPathComponent("u.png").path)
        XCTAssertNil(recipe.settings.classID)
        XCTAssertEqual(recipe.settings.guidance, "none")
        let parameters = textValue("parameters", in: try PNGImage.read(path: dir.appendingPathComponent("u.png").path).text)
        XCTAssertEqual(parameters?.split(separator: "\n").first, "unconditional")
    }
}
