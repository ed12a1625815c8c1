import Foundation
import XCTest
import TweedieTestSupport
import Tweedie

/// The pipeline glue's pieces on their own: hashing, output naming, class spaces, folder settings, recipes and
/// the diffusers-style clipped DDIM step.
final class PipelineUnitTests: XCTestCase {
    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // 56 bytes: the padding spills into a second block.
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: 0x61, count: 1000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testOutputPattern() throws {
        let p = try OutputPattern("out/img_%03d.png")
        XCTAssertEqual(p.path(index: 7, count: 10), "out/img_007.png")
        XCTAssertEqual(p.path(index: 1234, count: 10), "out/img_1234.png")
        XCTAssertEqual(try OutputPattern("a%d-%4d%%.png").path(index: 12, count: 2), "a12-  12%.png")
        let plain = try OutputPattern("dir/output.png")
        XCTAssertEqual(plain.path(index: 0, count: 1), "dir/output.png")
        XCTAssertEqual(plain.path(index: 3, count: 4), "dir/output_3.png")
        XCTAssertThrowsError(try OutputPattern("x_%s.png"))
        XCTAssertThrowsError(try OutputPattern("dir/"))
    }

    func testClassSpaces() throws {
        // Fashion-style U-Net: 11 embeddings, the last one the null class.
        let fashion = ClassSpace(tableSize: 11, nullClass: 10, labels: [3: "Dress", 0: "T-shirt/top"])
        XCTAssertEqual(fashion.classCount, 10)
        XCTAssertEqual((0..<12).map(fashion.defaultClass(forImage:)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
        XCTAssertTrue(fashion.isValid(9))
        XCTAssertFalse(fashion.isValid(10))
        XCTAssertEqual(try fashion.classID(forLabel: "dress"), 3)
        XCTAssertThrowsError(try fashion.classID(forLabel: "Boot"))
        // A null class in the middle is skipped when cycling.
        let middle = ClassSpace(tableSize: 4, nullClass: 1)
        XCTAssertEqual((0..<4).map(middle.defaultClass(forImage:)), [0, 2, 3, 0])
        // DiT: the null row sits past the real classes; synonyms name a class.
        let dit = ClassSpace(tableSize: 1001, nullClass: 1000, labels: [3: "tiger shark, Galeocerdo cuvieri"])
        XCTAssertEqual(dit.classCount, 1000)
        XCTAssertEqual(try dit.classID(forLabel: "Galeocerdo cuvieri"), 3)
        XCTAssertEqual(dit.name(of: 3), "tiger shark")
    }

    func testFolderSettings() throws {
        let dit = try SamplingPipeline(path: GenerateCLI.fixture("dit_pipe"))
        XCTAssertEqual(dit.source.layout, .pipeline)
        XCTAssertNotNil(dit.vae)
        XCTAssertTrue(dit.learnedSigma)
        XCTAssertEqual(dit.classes.nullClass, 1000)
        XCTAssertEqual(dit.imageSize.width, 16)
        let unet = try SamplingPipeline(path: GenerateCLI.fixture("unet_cond"))
        XCTAssertEqual(unet.source.layout, .bare)
        XCTAssertEqual(unet.classes.nullClass, 3)
        XCTAssertEqual(unet.classes.labels[2], "Gamma")
        XCTAssertEqual(unet.scheduler.timestepSpacing, .trailing)

        // null_class in config.json overrides the default; -1 means none (then guidance is refused).
        let dir = try GenerateTesting.tempDir(self)
        for f in ["diffusion_pytorch_model.safetensors", "scheduler_config.json"] {
            try FileManager.default.copyItem(atPath: GenerateCLI.fixture("unet_cond") + "/" + f,
                                             toPath: dir.appendingPathComponent(f).path)
        }
        let config = try String(contentsOfFile: GenerateCLI.fixture("unet_cond") + "/config.json", encoding: .utf8)
        for (value, null, count) in [("0", 0 as Int?, 3), ("-1", nil, 4)] {
            try config.replacingOccurrences(of: "\"labels\"", with: "\"null_class\": \(value), \"labels\"")
                .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
            let p = try SamplingPipeline(path: dir.path)
            XCTAssertEqual(p.classes.nullClass, null)
            XCTAssertEqual(p.classes.classCount, count)
            var s = GenerationSettings()
            s.guidance = "cfg"
            s.steps = 2
            if null == nil { XCTAssertThrowsError(try ImageGenerator(pipeline: p).validate(s)) }
        }
    }

    func testRecipeJSONRoundTrip() throws {
        var s = GenerationSettings()
        s.sampler = "ddim"; s.eta = 0.3; s.schedule = "custom"; s.sigmas = [14.6, 3.1, 0.1]; s.guidance = "apg"
        s.cfgScale = 0.1; s.guidanceParameters["apg_momentum"] = -0.7; s.guidanceInterval = [0.1, 0.85]; s.rng = "torch"
        s.seed = UInt64(Int64.max); s.classID = 4; s.latents = "/tmp/l.safetensors"; s.latentsOffset = 3
        let r = ImageRecipe(model: .init(path: "/m", name: "m", weightsSHA256: "ab", vaeSHA256: nil),
                            settings: s, width: 32, height: 32, index: 9)
        let back = try ImageRecipe(json: try r.json(), source: "test")
        XCTAssertEqual(back, r)
        XCTAssertEqual(back.settings.cfgScale.bitPattern, Float(0.1).bitPattern)
        XCTAssertThrowsError(try ImageRecipe(json: #"{"engine": "x"}"#, source: "bad.png")) { error in
            XCTAssertTrue((error as? TweedieError)?.message.contains("bad.png") ?? false)
        }
    }

    /// Without clipping in play, the diffusers-style clipped DDIM is the registry's DDIM, eta included.
    func testClippedDDIMReducesToDDIM() throws {
        let denoiser = ClosureDenoiser { x, sigma, _ in
            Tensor(shape: x.shape, data: x.data.map { 0.3 * tanh($0) / (1 + sigma) })
        }
        let x = Tensor(shape: [2, 1, 2, 2], data: (0..<8).map { Float($0) - 3.5 })
        let sigmas: [Float] = [10, 4, 1, 0.2, 0]
        for eta: Float in [0, 0.7] {
            let a = try ClippedDDIM.sampler(eta: eta, clip: 100)(denoiser, x, sigmas, .unconditional,
                                                                 PhiloxNoise(seed: 3), ignoreSteps)
            let b = try Samplers.ddim(eta: eta)(denoiser, x, sigmas, .unconditional, PhiloxNoise(seed: 3), ignoreSteps)
            // Measured 2.1e-7 relative (worst of 5 OpenBLAS kernels).
            assertMeasured(relativeError(a, b), tolerance: 1e-6, "pipeline unit")
        }
        // With a tight clip the run ends on the clamped estimate.
        let clipped = try ClippedDDIM.sampler(eta: 0, clip: 0.05)(denoiser, x, sigmas, .unconditional, NoNoise(), ignoreSteps)
        XCTAssertLessThanOrEqual(clipped.maxAbs, 0.05)
    }
}
