import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieTraining
import Tweedie

/// A tiny latent run: six 3x16x16 images in two classes, encoded by the diffusers-made AutoencoderKL of the
/// `dit_pipe` pipeline fixture (3x16x16 -> 4x8x8), and a class-conditional DiT on the 4x8x8 latents.
enum TinyLatentRun {
    static let vae = TrainingFixtures.testsRoot.appendingPathComponent("TweedieCLITests/Fixtures/dit_pipe/vae").path

    static let modelConfig = """
        {"_class_name": "DiTTransformer2DModel", "sample_size": 8, "in_channels": 4, "out_channels": 4,
         "patch_size": 2, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 2,
         "num_embeds_ada_norm": 2}
        """

    static func dataset(side: Int = 16) -> TensorDataset {
        let n = 6, per = 3 * side * side
        let data = (0..<(n * per)).map { i in sinf(Float(i) * 0.37) * 0.8 }
        return TensorDataset(images: Tensor(shape: [n, 3, side, side], data: data), labels: [0, 1, 0, 1, 1, 0],
                             classNames: ["a", "b"])
    }

    static func recipe() -> TrainingRecipe {
        var r = TinyRun.recipe()
        r.modelConfigJSON = modelConfig
        r.learningRate = 3e-3
        r.vae = vae
        return r
    }
}

/// `Trainer` with a `vae`: the data it sees are scaled posterior means, a resumed run equals an uninterrupted one,
/// the export is a pipeline folder that `tweedie generate` samples and `init_from` reads, and a VAE that does not
/// fit is refused before anything is written.
final class LatentTrainerTests: XCTestCase {
    /// Latents are scaling_factor x the encoder's mean, the same bits whatever order they are first asked for in.
    func testLatentsAreScaledPosteriorMeansIndependentOfOrder() throws {
        let images = TinyLatentRun.dataset()
        let latents = try LatentDataset(images: images, vaeFolder: TinyLatentRun.vae, dataName: "tiny")
        XCTAssertEqual(latents.sampleShape, [4, 8, 8])
        let first = latents.batch([4, 1])
        XCTAssertEqual(first.labels, [1, 1])
        let all = latents.batch(Array(0..<6)).images
        guard let vae = try ModelFolder.load(TinyLatentRun.vae) as? AutoencoderKL else { return XCTFail("not a VAE") }
        let mean = try vae.encode(images.images)
        XCTAssertEqual(vae.scalingFactor, 0.18215)
        XCTAssertEqual(all.data, mean.data.map { $0 * 0.18215 }, "one chunk: encoded together, scaled once")
        XCTAssertEqual(Array(all.data[(4 * 256)..<(5 * 256)] + all.data[256..<512]), first.images.data)
        // The grid decoder inverts the scaling: decode(latents) is the VAE's decode of the unscaled mean.
        let decoded = try latents.decode(all)
        // Measured 1.0e-6: mean * s / s is not mean in float32; 1e-5 leaves room for other kernels.
        assertMeasured(relativeError(decoded, try vae.decode(mean)), tolerance: 1e-5, "decode(scale * mean) vs decode(mean)")
    }

    /// Two steps, a checkpoint, a new trainer resuming (encoding anew), two more: bit-identical to four straight.
    func testResumeContinuesBitIdentically() throws {
        let resumed = try makeScratchDirectory("latent-resume"), straight = try makeScratchDirectory("latent-straight")
        defer { for d in [resumed, straight] { try? FileManager.default.removeItem(atPath: d) } }
        let first = try Trainer(recipe: TinyLatentRun.recipe(), dataset: TinyLatentRun.dataset(), outDirectory: resumed,
                                resume: true)
        first.log = { _ in }
        try first.run(stopAfter: 2)
        let second = try Trainer(recipe: TinyLatentRun.recipe(), dataset: TinyLatentRun.dataset(),
                                 outDirectory: resumed, resume: true)
        second.log = { _ in }
        XCTAssertEqual(second.state.step, 2)
        try second.run(stopAfter: 2)
        let direct = try Trainer(recipe: TinyLatentRun.recipe(), dataset: TinyLatentRun.dataset(),
                                 outDirectory: straight, resume: false)
        direct.log = { _ in }
        try direct.run(stopAfter: 4)
        XCTAssertEqual(second.state.step, 4)
        for ((name, a), (_, b)) in zip(second.parameters, direct.parameters) { XCTAssertEqual(a, b, name) }
        for ((name, a), (_, b)) in zip(second.emaWeights, direct.emaWeights) { XCTAssertEqual(a, b, "ema \(name)") }
        XCTAssertEqual(LossLog.read(resumed + "/loss.csv").map(\.loss), LossLog.read(straight + "/loss.csv").map(\.loss))
        // The same run without its VAE (pixels) cannot resume it.
        var pixels = TinyDiTRun.recipe()
        pixels.seed = TinyLatentRun.recipe().seed
        pixels.modelConfigJSON = TinyLatentRun.modelConfig
        XCTAssertThrowsError(try Trainer(recipe: pixels, dataset: TensorDataset(images: Tensor(shape: [6, 4, 8, 8]),
                                                                                 labels: [0, 1, 0, 1, 1, 0],
                                                                                 classNames: ["a", "b"]),
                                         outDirectory: resumed, resume: true)) {
            XCTAssertTrue(($0 as? TweedieError)?.message.contains("this run has none") ?? false, "\($0)")
        }
    }

    /// The export is a pipeline folder (model_index.json, transformer/, scheduler/, vae/) whose transformer is the
    /// EMA network, which `tweedie generate` samples to 16x16 images and `init_from` reads back.
    func testExportedPipelineGeneratesAndInitialises() throws {
        let (trainer, out) = try exportTinyRun(TinyLatentRun.recipe(), dataset: TinyLatentRun.dataset(), tag: "latent-export")
        let next = try makeScratchDirectory("latent-init")
        defer { for d in [out, next] { try? FileManager.default.removeItem(atPath: d) } }
        let model = out + "/model"
        let grid = try PNGImage.read(path: out + "/samples/step-00000003.png").image
        let tiles = try PNGImage.grid([PNGImage(width: 16, height: 16, channels: 3), PNGImage(width: 16, height: 16, channels: 3)],
                                      columns: 2)
        XCTAssertEqual([grid.width, grid.height, grid.channels], [tiles.width, tiles.height, 3], "two decoded 16x16 images")
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/model_index.json")))
            as? [String: Any]
        XCTAssertEqual(index?["_class_name"] as? String, "DiTPipeline")
        XCTAssertEqual(index?["id2label"] as? [String: String], ["0": "a", "1": "b"])
        let scheduler = try SchedulerConfig(path: model + "/scheduler/scheduler_config.json")
        XCTAssertFalse(scheduler.clipSample, "latents are not clipped to [-1, 1]")
        XCTAssertEqual(FileManager.default.contents(atPath: model + "/vae/diffusion_pytorch_model.safetensors"),
                       FileManager.default.contents(atPath: TinyLatentRun.vae + "/diffusion_pytorch_model.safetensors"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix(".model") }
        XCTAssertEqual(leftovers, [], "temporary and replaced folders are gone")

        let pipeline = try SamplingPipeline(path: model)
        XCTAssertNotNil(pipeline.vae)
        XCTAssertEqual(pipeline.imageSize.width, 16)
        XCTAssertEqual(pipeline.classes.labels, [0: "a", 1: "b"])
        XCTAssertEqual(pipeline.classes.nullClass, 2)

        var again = TinyLatentRun.recipe()
        again.initFrom = model
        let b = try Trainer(recipe: again, dataset: TinyLatentRun.dataset(), outDirectory: next, resume: false)
        for ((name, w), (_, e)) in zip(b.parameters, trainer.emaWeights) { XCTAssertEqual(w, e, name) }

        let png = next + "/latent.png"
        let run = try ClassifierCLITests.tweedie(["generate", "-m", model, "--steps", "3", "--label", "b",
                                                  "--cfg-scale", "2", "--seed", "5", "-o", png, "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let image = try PNGImage.read(path: png).image
        XCTAssertEqual([image.width, image.height], [16, 16])
    }

    /// A VAE folder that is not an AutoencoderKL, one whose latents have other channels than the network reads,
    /// and one made for another image size are refused before the run writes anything.
    func testVAEThatDoesNotFitIsRefused() throws {
        let out = try makeScratchDirectory("latent-bad")
        defer { try? FileManager.default.removeItem(atPath: out) }
        func message(_ r: TrainingRecipe, _ data: TensorDataset = TinyLatentRun.dataset()) -> String {
            do {
                _ = try Trainer(recipe: r, dataset: data, outDirectory: out + "/run", resume: false)
                return "accepted"
            } catch { return (error as? TweedieError)?.message ?? "\(error)" }
        }
        var notVAE = TinyLatentRun.recipe()
        notVAE.vae = TrainingFixtures.testsRoot.appendingPathComponent("TweedieCLITests/Fixtures/dit_pipe/transformer").path
        XCTAssertEqual(message(notVAE), "--vae \(notVAE.vae!): a DiTTransformer2DModel folder, not an AutoencoderKL")
        var channels = TinyLatentRun.recipe()
        channels.modelConfigJSON = TinyLatentRun.modelConfig.replacingOccurrences(of: "\"in_channels\": 4, \"out_channels\": 4",
                                                                                  with: "\"in_channels\": 3, \"out_channels\": 3")
        XCTAssertEqual(message(channels),
                       "--vae \(TinyLatentRun.vae): latent_channels 4 differ from the model config's in_channels 3")
        XCTAssertEqual(message(TinyLatentRun.recipe(), TinyLatentRun.dataset(side: 32)),
                       "--vae \(TinyLatentRun.vae): an AutoencoderKL for 3x16x16 images (in_channels, sample_size), "
                       + "--data tiny has 3x32x32")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/run"))
    }

    /// The bundled latent32 recipe reads: a class-conditional DiT on vae32's 4x8x8 latents, the VAE found beside it.
    func testLatent32RecipeDescribesALatentDiT() throws {
        let path = TrainingFixtures.testsRoot.deletingLastPathComponent().appendingPathComponent("assets/latent32/recipe.json").path
        let r = try TrainingRecipe(path: path)
        XCTAssertEqual(r.vae, TrainingFixtures.testsRoot.deletingLastPathComponent().appendingPathComponent("assets/vae32").path)
        let net = try r.network()
        XCTAssertEqual(net.className, "DiTTransformer2DModel")
        XCTAssertEqual(net.sampleShape, [4, 8, 8])
        XCTAssertNil(net.classMismatch(classes: 10))
        XCTAssertEqual(r.labelDropout, 0.1)
    }
}
