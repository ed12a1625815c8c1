import ArgumentParser
import Foundation
import Tweedie
import TweedieTraining

/// `tweedie train-classifier`: trains the TweedieClassifier on colourised Fashion-MNIST, resumable, then writes the
/// model folder with its test-split evaluation and model card.
struct TrainClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-classifier",
        abstract: "Train the image classifier (softmax cross-entropy, AdamW) on colourised Fashion-MNIST; "
            + "writes checkpoints and loss.csv under --out, then the model folder, evaluation and MODEL_CARD.md.")

    @Option(help: "Run folder (checkpoints/, loss.csv).")
    var out: String
    @Option(help: "Model folder to write when training is done (default: OUT/model).")
    var export: String?
    @Flag(help: "Continue from the newest checkpoint in OUT/checkpoints (its recipe, unless flags override it).")
    var resume = false
    @Option(help: "Passes over the training images.")
    var epochs: Int?
    @Option(name: .customLong("weight-decay"), help: "AdamW decoupled weight decay.")
    var weightDecay: Float?
    @Option(name: .customLong("label-smoothing"), help: "Cross-entropy label smoothing in [0, 1).")
    var labelSmoothing: Float?
    @Option(name: .customLong("grad-clip"), help: "Global gradient-norm limit (0: none).")
    var gradClip: Float?
    @Option(name: .customLong("colour-seed"), help: "Seed of the class-linked-hue colour recipe.")
    var colourSeed: UInt64?
    @Option(help: ArgumentHelp("Output channels of each stage, comma-separated.", valueName: "c1,c2,..."))
    var channels: String?
    @Option(name: .customLong("layers-per-block"), help: "Conv layers per stage.")
    var layersPerBlock: Int?
    @Option(help: "GroupNorm groups.")
    var groups: Int?
    @Option(help: ArgumentHelp("Share of training images painted in a random class's hue, labels unchanged "
                               + "(0: the recipe as is; 1: the hue carries no class information).", valueName: "p"))
    var recolour: Float?
    @Option(name: .customLong("train-limit"), help: "Train on the first N training images only.")
    var trainLimit: Int?
    @Option(name: .customLong("eval-limit"), help: "Evaluate on the first N test images only (default: all 10,000).")
    var evalLimit: Int?
    @Option(name: .customLong("data-dir"), help: "Folder of the Fashion-MNIST IDX files.")
    var dataDir: String = FashionMNIST.defaultDirectory
    @OptionGroup var optimiser: OptimiserOptions
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        var r = ClassifierRecipe()
        let checkpoints = (out as NSString).appendingPathComponent("checkpoints")
        if resume, let newest = ClassifierCheckpoint.list(checkpoints).last {
            r = try ClassifierCheckpoint.recipe(newest)
        }
        try apply(to: &r)
        try r.validate()
        let colour = try ColourFashionDataset(split: .train, directory: dataDir, colourSeed: r.colourSeed)
        let data: TrainingDataset = r.recolour == 0 ? colour
            : RecolouredFashionDataset(source: colour.source, colourSeed: r.colourSeed, probability: r.recolour,
                                       seed: r.seed)
        let trainer = try ClassifierTrainer(recipe: r, dataset: data, outDirectory: out, resume: resume)
        trainer.log("classifier: \(trainer.network.parameterCount) parameters, \(trainer.trainCount) images, "
                    + "\(trainer.totalSteps) steps, \(Runtime.threads) thread(s)")
        GenerateInterrupt.install()
        try trainer.run(stopAfter: optimiser.stopAfter, shouldStop: { GenerateInterrupt.requested })
        guard trainer.isFinished else {
            trainer.log("stopped at step \(trainer.state.step)/\(trainer.totalSteps); continue with --resume")
            if GenerateInterrupt.requested { throw ExitCode(GenerateInterrupt.signalExitCode) }
            return
        }
        let folder = export ?? (out as NSString).appendingPathComponent("model")
        let test = try ColourFashionDataset(split: .test, directory: dataDir, colourSeed: r.colourSeed)
        let shifted = HueShiftedFashionDataset(source: test.source, colourSeed: r.colourSeed)
        let started = Date()
        let card = try ClassifierExport.export(trainer, to: folder, test: test, hueShifted: shifted,
                                               command: ClassifierExport.command(r, out: out, export: folder,
                                                                                threads: Runtime.threads),
                                               evalLimit: evalLimit)
        trainer.log(String(format: "test accuracy %.2f%% (%d images), hue-shifted %.2f%%; evaluation %.0f s",
                           100 * card.test.accuracy, card.test.count, 100 * (card.hueShifted?.accuracy ?? 0),
                           Date().timeIntervalSince(started)))
        trainer.log("model folder: \(folder)")
    }

    /// Flags override the recipe (defaults, or the checkpoint's when resuming).
    private func apply(to r: inout ClassifierRecipe) throws {
        try optimiser.apply(to: &r)
        if let epochs { r.epochs = epochs }
        if let weightDecay { r.weightDecay = weightDecay }
        if let labelSmoothing { r.labelSmoothing = labelSmoothing }
        if let gradClip { r.gradClip = gradClip }
        if let colourSeed { r.colourSeed = colourSeed }
        if let channels {
            let list = channels.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !list.isEmpty, list.allSatisfy({ $0 != nil }) else {
                throw TweedieError.badInput("--channels: expected comma-separated integers, got \(channels)")
            }
            r.config.blockOutChannels = list.map { $0! }
        }
        if let layersPerBlock { r.config.layersPerBlock = layersPerBlock }
        if let groups { r.config.normNumGroups = groups }
        if let recolour { r.recolour = recolour }
        if let trainLimit { r.trainLimit = trainLimit }
        if let evalLimit, evalLimit < 1 { throw TweedieError.badInput("--eval-limit: must be at least 1") }
    }
}
