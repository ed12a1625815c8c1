import ArgumentParser
import Tweedie

/// The flags of every optimisation command (`train`, `train-classifier`): each one given overrides its recipe.
struct OptimiserOptions: ParsableArguments {
    @Option(help: "Samples per optimiser step.")
    var batch: Int?
    @Option(help: "Peak learning rate (AdamW).")
    var lr: Float?
    @Option(help: "Linear warm-up steps.")
    var warmup: Int?
    @Option(help: "Seed of the initial weights, the data order and the noise.")
    var seed: UInt64?
    @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.")
    var checkpointEvery: Int?
    @Option(name: .customLong("log-every"), help: "Steps between progress lines.")
    var logEvery: Int?
    @Option(name: .customLong("stop-after"), help: "Stop after this many steps of this session (checkpointing).")
    var stopAfter: Int?

    /// Writes every flag given into `r`; the recipe's own `validate` checks the values.
    func apply<R: OptimiserSettings>(to r: inout R) throws {
        if let batch { r.batch = batch }
        if let lr { r.learningRate = lr }
        if let warmup { r.warmupSteps = warmup }
        if let seed { r.seed = seed }
        if let checkpointEvery { r.checkpointEvery = checkpointEvery }
        if let logEvery { r.logEvery = logEvery }
        if let stopAfter, stopAfter < 1 { throw TweedieError.badInput("--stop-after: must be at least 1") }
    }
}
