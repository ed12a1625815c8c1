import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieTraining
import Tweedie

/// Fixture paths: this target's own Fixtures/ and the model parity fixtures next door, read by path.
enum TrainingFixtures {
    static let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    /// Tests/TweedieTrainingTests/Fixtures/<name>.
    static func own(_ name: String) -> String {
        testsRoot.appendingPathComponent("TweedieTrainingTests/Fixtures/\(name)").path
    }

    /// Tests/TweedieModelsTests/Fixtures/<name>.
    static func models(_ name: String) -> String {
        testsRoot.appendingPathComponent("TweedieModelsTests/Fixtures/\(name)").path
    }

    /// Every tensor of a model folder's checkpoint, by name.
    static func weights(_ folder: String) throws -> [(String, Tensor)] {
        let file = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent(ModelFolder.weightsFile))
        return try file.names.map { ($0, try file.tensor($0)) }
    }

    /// The UNet2DConfig of a model folder.
    static func unetConfig(_ folder: String) throws -> UNet2DConfig {
        try UNet2DConfig(json: JSONConfig(path: (folder as NSString).appendingPathComponent(ModelFolder.configFile)))
    }

    /// The DiTConfig of a model folder (DiTTransformer2DModel or the legacy Transformer2DModel form).
    static func ditConfig(_ folder: String) throws -> DiTConfig {
        try DiTConfig(json: JSONConfig(path: (folder as NSString).appendingPathComponent(ModelFolder.configFile)))
    }
}


/// A scratch directory removed by the caller.
func makeScratchDirectory(_ tag: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.path
}

/// A three-step run of `recipe` on `dataset` in a new scratch folder, writing one sample grid at its end with the
/// bundled sampler (`SampleGrid`): the trainer (for its EMA weights) and the output folder, removed by the caller.
func exportTinyRun(_ recipe: TrainingRecipe, dataset: TrainingDataset, tag: String) throws -> (trainer: Trainer, out: String) {
    let out = try makeScratchDirectory(tag)
    var r = recipe
    r.steps = 3
    r.sampleEvery = 0
    r.samplesPerClass = 1
    r.sampleSteps = 2
    let trainer = try Trainer(recipe: r, dataset: dataset, outDirectory: out, resume: false, samples: SampleGrid())
    trainer.log = { _ in }
    try trainer.run()
    return (trainer, out)
}
