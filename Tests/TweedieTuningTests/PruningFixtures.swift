import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieTuning

/// Tiny random-weight models for the pruning tests, written as model folders and loaded back through the registry
/// (so their config text is the folder's, as `ModelFolder.write` needs). Every tensor, biases included, is drawn
/// non-zero, so a kept or lost bias shows in the output.
enum PruningFixtures {
    /// A 2-block DiT (2 heads of 4, FFN 32) on 3x8x8 samples, patch 2, 2 classes (null id 2).
    static let dit = """
    {"_class_name": "DiTTransformer2DModel", "activation_fn": "gelu-approximate", "attention_bias": true,
     "attention_head_dim": 4, "in_channels": 3, "norm_elementwise_affine": false, "norm_eps": 1e-05,
     "norm_type": "ada_norm_zero", "num_attention_heads": 2, "num_embeds_ada_norm": 2, "num_layers": 2,
     "out_channels": 3, "patch_size": 2, "sample_size": 8}
    """

    /// A 2-level UNet2DModel (8 and 16 channels, attention at the second level, 4 norm groups) on 3x8x8 samples,
    /// 2 classes plus the null class 2.
    static let unet = """
    {"_class_name": "UNet2DModel", "act_fn": "silu", "add_attention": true, "attention_head_dim": 4,
     "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
     "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "in_channels": 3, "out_channels": 3, "layers_per_block": 1,
     "norm_num_groups": 4, "norm_eps": 1e-05, "num_class_embeds": 3, "sample_size": 8,
     "time_embedding_type": "positional", "flip_sin_to_cos": true, "freq_shift": 0}
    """

    /// A fresh temporary folder removed when `test` ends.
    static func tempDir(_ test: XCTestCase) throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-prune-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    /// The model of `config` with weights U(±0.5/√fan-in) (±0.3 for vectors) from `seed`, written into
    /// `<dir>/<name>` and loaded from there.
    static func model(_ config: String, in dir: String, name: String = "base",
                      seed: UInt64 = 1) throws -> LoadedModel & DiffusionModel & PrunableModel {
        let folder = (dir as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("config.json")))
        let source = InitializingWeightSource(seed: seed) { _, shape, _ in
            let fanIn = shape.count >= 2 ? shape.dropFirst().reduce(1, *) : 0
            return .uniform(bound: fanIn > 0 ? 0.5 / Float(fanIn).squareRoot() : 0.3)
        }
        let json = try JSONConfig(data: Data(config.utf8), path: folder)
        let className = try json.requireString("_class_name")
        _ = try ModelRegistry.kind(of: className)!.prepare(config: json, className: className)(WeightStore(source: source))
        try SafeTensorsWriter.write(source.parameters,
                                    to: (folder as NSString).appendingPathComponent(ModelFolder.weightsFile))
        guard let m = try ModelFolder.load(folder) as? LoadedModel & DiffusionModel & PrunableModel else {
            throw TweedieError.runtime("fixture \(className) is not prunable")
        }
        return m
    }

    /// The null class of a fixture (the id guidance feeds).
    static func nullClass(_ m: DiffusionModel) -> Int {
        if case .ids(let k) = m.classConditioning.table, m.classConditioning.nullPastTable { return k }
        return m.classConditioning.defaultNull!
    }

    /// The fixture's raw output at a fixed input (seeded noise, timestep 300, classes 0 and 1).
    static func output(_ m: DiffusionModel) throws -> Tensor {
        let x = try PhiloxNoise(seed: 7).normal(shape: [2] + m.sampleShape, purpose: .initial)
        return try m.forward(x, timesteps: [300], classLabels: [0, 1])
    }
}
