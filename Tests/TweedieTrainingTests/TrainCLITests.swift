import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieTraining

/// `tweedie train` as a user runs it: a recipe file, flags that override it, resume, the exported folder that
/// `tweedie info` reads, and bad input that exits 2 naming the culprit; plus `tweedie info` on a classifier folder.
final class TrainCLITests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-train-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// A tiny unconditional U-Net on the 64x64 ellipse phantoms: the cheapest real run of the whole pipeline.
    private func writeRecipe(_ extra: [String: Any] = [:], name: String = "recipe") throws -> String {
        var recipe: [String: Any] = [
            "data": "ellipses64", "steps": 3, "batch": 2, "warmup": 1, "checkpoint_every": 2, "sample_every": 0,
            "log_every": 1, "sample_steps": 2, "samples_per_class": 1, "seed": 5,
            "model": ["_class_name": "UNet2DModel", "sample_size": 64, "in_channels": 1, "out_channels": 1,
                      "block_out_channels": [8, 16], "layers_per_block": 1, "norm_num_groups": 4,
                      "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"]],
        ]
        for (k, v) in extra { recipe[k] = v }
        let path = scratch.appendingPathComponent(name + ".json").path
        try JSONSerialization.data(withJSONObject: recipe, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testRecipeRunExportsAFolderThatInfoReadsAndResumeContinues() throws {
        let recipe = try writeRecipe(), out = scratch.appendingPathComponent("run").path
        let first = try ClassifierCLITests.tweedie(["train", "--recipe", recipe, "--out", out, "--stop-after", "2", "--threads", "1"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let model = (out as NSString).appendingPathComponent("model")
        for file in ["config.json", "diffusion_pytorch_model.safetensors", "scheduler_config.json"] {
            XCTAssert(FileManager.default.fileExists(atPath: (model as NSString).appendingPathComponent(file)), file)
        }
        let info = try ClassifierCLITests.tweedie(["info", model])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssert(info.stdout.contains("type: UNet2DModel"), info.stdout)
        let csv = try String(contentsOfFile: (out as NSString).appendingPathComponent("loss.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 1 + 2, "header and one line per logged step:\n\(csv)")

        // --resume picks up the step-2 checkpoint (the session stopped there) and runs the recipe's last step.
        let second = try ClassifierCLITests.tweedie(["train", "--out", out, "--resume", "--threads", "1"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssert((second.stdout + second.stderr).contains("step 3/3"), second.stdout + second.stderr)
        let resumed = try String(contentsOfFile: (out as NSString).appendingPathComponent("loss.csv"), encoding: .utf8)
        XCTAssertEqual(resumed.split(separator: "\n").count, 1 + 3, resumed)
        // The exported weights are a loadable model that denoises: finite output of the right shape.
        guard let unet = try ModelFolder.load(model) as? UNet2DModel else { return XCTFail("not a UNet2DModel folder") }
        let y = try unet.forward(Tensor(shape: [1, 1, 64, 64], repeating: 0.1), timesteps: [500], classLabels: nil)
        XCTAssertEqual(y.shape, [1, 1, 64, 64])
        XCTAssert(y.data.allSatisfy(\.isFinite))
    }

    func testBadInputExitsTwoNamingTheCulprit() throws {
        let out = scratch.appendingPathComponent("bad").path
        let cases: [([String], String)] = [
            (["train", "--recipe", try writeRecipe(["data": "mnist"], name: "data"), "--out", out], "--data mnist"),
            (["train", "--recipe", try writeRecipe(["learning_rate": 1], name: "key"), "--out", out], "unknown key 'learning_rate'"),
            (["train", "--recipe", scratch.appendingPathComponent("absent.json").path, "--out", out], "absent.json"),
            (["train", "--recipe", try writeRecipe(), "--out", out, "--steps", "0"], "--steps"),
            (["train", "--recipe", try writeRecipe(), "--out", out, "--prediction", "x0"], "prediction"),
            // The sample-grid renderer checks the sampler before the first step, not at the first grid.
            (["train", "--recipe", try writeRecipe(["sampler": "nope"], name: "sampler"), "--out", out], "sampler nope"),
        ]
        for (arguments, needle) in cases {
            let r = try ClassifierCLITests.tweedie(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssert(r.stderr.contains(needle), "\(arguments): expected '\(needle)' in: \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one-line error: \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent("model")))
    }

    func testInfoDescribesTheBundledClassifier() throws {
        let r = try ClassifierCLITests.tweedie(["info", ClassifierCLITests.asset])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssert(r.stdout.contains("type: TweedieClassifier"), r.stdout)
        XCTAssert(r.stdout.contains("classes: 0 T-shirt/top, 1 Trouser"), r.stdout)
        let net = try TweedieClassifier(folder: ClassifierCLITests.asset)
        XCTAssert(r.stdout.contains("parameters: \(net.parameterCount)\n"), r.stdout)
    }
}
