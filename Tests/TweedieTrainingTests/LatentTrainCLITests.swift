import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieData
import TweedieModels
import TweedieImaging

/// `tweedie train` on latents as a user runs it: colourised Fashion-MNIST through an AutoencoderKL named by
/// `--vae`, stopped and resumed, exporting a pipeline folder that `tweedie generate -m` samples and that a second
/// run's `--init-from` reads.
final class LatentTrainCLITests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        try TestEnvironment.requireFile(FashionMNIST.defaultDirectory + "/train-images-idx3-ubyte.gz",
                                        package: "dataset-fashion-mnist")
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-latent-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let scratch { try? FileManager.default.removeItem(at: scratch) } }

    /// The dit_pipe fixture's AutoencoderKL (3 -> 4 channels, factor 2) declared for 32x32 images, the data's size
    /// (diffusers reads sample_size only for tiling), and a recipe of a tiny DiT on its 4x16x16 latents.
    private func prepare() throws -> (recipe: String, vae: String) {
        let vae = scratch.appendingPathComponent("vae")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: TinyLatentRun.vae), to: vae)
        let config = vae.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        XCTAssert(text.contains("\"sample_size\": 16"))
        try text.replacingOccurrences(of: "\"sample_size\": 16", with: "\"sample_size\": 32")
            .write(to: config, atomically: true, encoding: .utf8)
        let recipe: [String: Any] = [
            "data": "fashion32", "steps": 3, "batch": 2, "warmup": 1, "checkpoint_every": 2, "sample_every": 0,
            "log_every": 1, "sample_steps": 2, "samples_per_class": 1, "seed": 5,
            "model": ["_class_name": "DiTTransformer2DModel", "sample_size": 16, "in_channels": 4, "out_channels": 4,
                      "patch_size": 4, "num_attention_heads": 2, "attention_head_dim": 8, "num_layers": 1,
                      "num_embeds_ada_norm": 10],
        ]
        let path = scratch.appendingPathComponent("latent.json").path
        try JSONSerialization.data(withJSONObject: recipe, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return (path, vae.path)
    }

    func testStopResumeGenerateAndInitFrom() throws {
        let (recipe, vae) = try prepare()
        let out = scratch.appendingPathComponent("run").path, model = out + "/model"
        let first = try ClassifierCLITests.tweedie(["train", "--recipe", recipe, "--vae", vae, "--out", out,
                                                    "--stop-after", "2", "--threads", "1"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssert(first.stdout.contains("as latents of the AutoencoderKL \(vae)"), first.stdout)
        // The checkpoint's recipe remembers the VAE: --resume needs no --vae.
        let second = try ClassifierCLITests.tweedie(["train", "--out", out, "--resume", "--threads", "1"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssert(second.stdout.contains("step 3/3"), second.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/samples/step-00000003.png"))
        for part in ["model_index.json", "transformer/config.json", "transformer/labels.json",
                     "scheduler/scheduler_config.json", "vae/config.json", "vae/diffusion_pytorch_model.safetensors"] {
            XCTAssert(FileManager.default.fileExists(atPath: model + "/" + part), part)
        }
        let info = try ClassifierCLITests.tweedie(["info", model + "/transformer"])
        XCTAssert(info.stdout.contains("type: DiTTransformer2DModel"), info.stdout + info.stderr)

        let png = scratch.appendingPathComponent("dress.png").path
        let made = try ClassifierCLITests.tweedie(["generate", "-m", model, "--label", "Dress", "--steps", "3",
                                                   "--seed", "1", "-o", png, "--threads", "1", "--quiet"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let image = try PNGImage.read(path: png).image
        XCTAssertEqual([image.width, image.height, image.channels], [32, 32, 3])

        // A second run starts from the exported pipeline's transformer.
        let next = scratch.appendingPathComponent("next").path
        let again = try ClassifierCLITests.tweedie(["train", "--recipe", recipe, "--vae", vae, "--out", next,
                                                    "--init-from", model, "--steps", "1", "--threads", "1"])
        XCTAssertEqual(again.status, 0, again.stderr)
        // With the VAE changed (here its scaling factor), the run cannot be resumed.
        let config = vae + "/config.json"
        try (try String(contentsOfFile: config, encoding: .utf8)).replacingOccurrences(of: "0.18215", with: "0.2")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try ClassifierCLITests.tweedie(["train", "--out", out, "--resume", "--steps", "4", "--threads", "1"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssert(refused.stderr.contains("--resume: ") && refused.stderr.contains("hashes to"), refused.stderr)
    }
}
