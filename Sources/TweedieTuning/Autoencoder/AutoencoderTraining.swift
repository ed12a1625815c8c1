import Foundation
import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieTraining

/// Trains an AutoencoderKL on a built-in data set through the shared optimisation loop: AdamW with warm-up and
/// cosine decay, gradient clipping, `log.csv`, resumable checkpoints under `out/checkpoints`, and after every
/// checkpoint a diffusers folder `out/model` whose config carries the latent `scaling_factor` (1 / std of the
/// posterior samples of the first `scalingImages` training images, so latents have unit variance).
public final class AutoencoderTraining {
    public let recipe: AutoencoderRecipe
    public let loop: TuningLoop
    public let objective: AutoencoderObjective
    public let outDirectory: String
    /// Images whose latents set the scaling factor.
    public var scalingImages = 512

    /// Metadata key of the recipe in checkpoints; its presence marks an autoencoder run.
    public static let recipeKey = "autoencoder_recipe"

    /// Sets up a run in `outDirectory`; with `resume` it continues from the newest checkpoint there.
    public init(recipe: AutoencoderRecipe, dataset: TrainingDataset, outDirectory: String, resume: Bool) throws {
        try recipe.validate()
        let config = try JSONConfig(data: Data(recipe.modelConfigJSON.utf8), path: "model config")
        let className = try config.string("_class_name", default: "AutoencoderKL")
        guard className == "AutoencoderKL" else {
            throw TweedieError.badInput("model config: _class_name \(className) is not an AutoencoderKL")
        }
        let build = try AutoencoderKLKind.prepare(config: config, className: className)
        let source = InitializingWeightSource(seed: recipe.seed)
        guard let vae = try build(WeightStore(source: source)) as? AutoencoderKL else {
            throw TweedieError.runtime("model config: did not build an AutoencoderKL")
        }
        let shape = dataset.sampleShape
        guard shape.count == 3, shape[0] == vae.config.inChannels, shape[0] == vae.config.outChannels,
              shape[1] % vae.downsamplingFactor == 0, shape[2] % vae.downsamplingFactor == 0 else {
            throw TweedieError.badInput("model config: in/out_channels \(vae.config.inChannels)/"
                                        + "\(vae.config.outChannels) and a downsampling factor of "
                                        + "\(vae.downsamplingFactor) do not fit --data \(recipe.data) samples \(shape)")
        }
        var initial = source.parameters
        if let folder = recipe.initFrom {
            let file = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent(ModelFolder.weightsFile))
            initial = try initial.map { name, t in
                guard let info = file.info(name), info.shape == t.shape else {
                    throw TweedieError.badInput("init_from \(folder): tensor '\(name)' is missing or not shaped \(t.shape)")
                }
                return (name, try file.tensor(name))
            }
        }
        self.recipe = recipe
        self.outDirectory = outDirectory
        objective = AutoencoderObjective(vae: vae, dataset: dataset, recipe: recipe)
        let parameters = try TuningParameters(initial)
        let optimizer = AdamW(parameters: parameters.values, learningRate: recipe.learningRate,
                              weightDecay: recipe.weightDecay)
        let settings = TuningLoopSettings(steps: recipe.steps, maxGradNorm: recipe.gradClip > 0 ? recipe.gradClip : nil,
                                          checkpointEvery: recipe.checkpointEvery,
                                          keepCheckpoints: recipe.keepCheckpoints, logEvery: recipe.logEvery)
        loop = try TuningLoop(parameters: parameters, optimizer: optimizer, objective: objective, settings: settings,
                              directory: outDirectory, metadata: [Self.recipeKey: recipe.jsonText], resume: resume)
        let schedule = LearningRateSchedule(base: recipe.learningRate, warmupSteps: recipe.warmupSteps,
                                            totalSteps: recipe.steps, decay: recipe.lrDecay)
        loop.learningRate = { schedule.rate(at: $0) }
        loop.onCheckpoint = { [unowned self] state in try self.export(state.parameters) }
    }

    /// The recipe stored in `out`'s newest checkpoint, or nil when `out` holds no autoencoder checkpoint.
    public static func storedRecipe(out: String) throws -> AutoencoderRecipe? {
        let checkpoints = (out as NSString).appendingPathComponent("checkpoints")
        guard let newest = TuningCheckpoint.newest(in: checkpoints),
              let meta = try? TuningCheckpoint.metadata(newest), let text = meta[recipeKey] else { return nil }
        return try AutoencoderRecipe(text: text, source: newest)
    }

    /// Writes `out/model`: config.json (the recipe's config with the measured scaling factor) and the weights.
    public func export(_ parameters: TuningParameters) throws {
        let dir = (outDirectory as NSString).appendingPathComponent("model")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        guard var config = try JSONSerialization.jsonObject(with: Data(recipe.modelConfigJSON.utf8)) as? [String: Any] else {
            throw TweedieError.badInput("model config: not a JSON object")
        }
        config["_class_name"] = "AutoencoderKL"
        config["_diffusers_version"] = ModelExport.diffusersVersion
        config["scaling_factor"] = Double(try scalingFactor(parameters))
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        let path = (dir as NSString).appendingPathComponent(ModelFolder.configFile)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        try SafeTensorsWriter.write(parameters.pairs, metadata: ["format": "pt"],
                                    to: (dir as NSString).appendingPathComponent(ModelFolder.weightsFile))
    }

    /// 1 / std of posterior samples of the first `scalingImages` training images (diffusers' convention).
    public func scalingFactor(_ parameters: TuningParameters) throws -> Float {
        let count = min(scalingImages, objective.dataset.count)
        var sum = 0.0, sumSq = 0.0, n = 0.0
        for start in stride(from: 0, to: count, by: 64) {
            let images = objective.dataset.batch(Array(start..<min(count, start + 64))).images
            let tape = Tape()
            let given = Dictionary(uniqueKeysWithValues: zip(parameters.names, parameters.values.map { tape.constant($0) }))
            let scope = ForwardScope(tape: tape, weights: objective.vae.weights, given: given)
            let (mean, logVariance) = try objective.vae.encodeMoments(scope, image: tape.constant(images))
            let eps = try PhiloxNoise(seed: recipe.seed &+ 0x7363_616C, firstImage: start)
                .normal(shape: mean.shape, purpose: .custom(13))
            for i in 0..<mean.value.count {
                let lv = min(max(logVariance.value.data[i], -30), 20)
                let z = Double(mean.value.data[i]) + Double(expf(0.5 * lv)) * Double(eps.data[i])
                sum += z; sumSq += z * z; n += 1
            }
        }
        let variance = sumSq / n - (sum / n) * (sum / n)
        guard variance > 0, variance.isFinite else {
            throw TweedieError.runtime("autoencoder: the latents have no spread (variance \(variance)); cannot scale them")
        }
        return Float(1 / variance.squareRoot())
    }
}
