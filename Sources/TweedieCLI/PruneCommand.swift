import ArgumentParser
import Foundation
import Tweedie

/// `tweedie prune`: learned structural pruning (EcoDiff) of a UNet2DModel or DiT, exported as a smaller model folder.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove a share of a model's attention heads, feed-forward neurons and resnet channels, ranked by "
            + "hard-concrete masks learned through the whole sampling trajectory (EcoDiff), and write the smaller "
            + "model folder (config.json with tweedie_layer_widths, weights, MODEL_CARD.md) into --out.")

    @Option(name: [.short, .long], help: "Model folder to prune (a UNet2DModel or DiT; with --resume: the run's).")
    var model: String?
    @Option(help: "Share of the prunable parameters to remove, strictly between 0 and 1 (global ranking; default 0.2).")
    var ratio: Double?
    @Option(help: "Output: the pruned model folder; the run's state goes to OUT/pruning/.")
    var out: String
    @Option(help: "trajectory (EcoDiff, default) | one-step (masks from one denoiser call) | magnitude | random.")
    var method: String?
    @Option(help: "Calibration (class, seed) pairs (default 100).")
    var calibration: Int?
    @Option(help: "Trajectories per micro-batch, sharing one mask draw (default 1).")
    var batch: Int?
    @Option(help: "Micro-batches per update (default 4).")
    var accumulate: Int?
    @Option(help: "Optimiser updates (default 100).")
    var steps: Int?
    @Option(name: .customLong("sampling-steps"), help: "Euler steps of each trajectory (default 20).")
    var samplingSteps: Int?
    @Option(name: .customLong("cfg-scale"), help: "CFG scale of the trajectories (default 3; 1: no guidance).")
    var cfgScale: Float?
    @Option(help: "AdamW learning rate on the logits (default 0.1).")
    var lr: Float?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay of the logits (default 0).")
    var weightDecay: Float?
    @Option(name: .customLong("reg-weight"), help: "Weight of the L0 sparsity term (default 1).")
    var regWeight: Float?
    @Option(name: .customLong("init-logit"), help: "Initial logit of every unit (default 3).")
    var initLogit: Float?
    @Option(help: "Hard-concrete temperature (default 0.83).")
    var beta: Float?
    @Option(help: "Hard-concrete lower stretch (default -0.1).")
    var gamma: Float?
    @Option(help: "Hard-concrete upper stretch (default 1.1).")
    var zeta: Float?
    @Option(name: .customLong("mask-eps"), help: "Bound of the gate noise, EcoDiff's masking_eps (default 0.5).")
    var maskEps: Float?
    @Option(help: "Seed of the calibration noise (pair i: seed + i), the mask noise and random scores (default 0).")
    var seed: UInt64?
    @Flag(name: .customLong("no-step-checkpointing"),
          help: "Keep every sampling step's activations instead of recomputing them (more memory, same gradients).")
    var noStepCheckpointing = false
    @Option(name: .customLong("checkpoint-every"), help: "Updates between checkpoints (default 10).")
    var checkpointEvery: Int?
    @Option(name: .customLong("log-every"), help: "Updates between progress lines (default 1).")
    var logEvery: Int?
    @Option(name: .customLong("stop-after"), help: "Stop after this many updates of this session (checkpointed).")
    var stopAfter: Int?
    @Flag(help: "Continue the run in OUT from its newest checkpoint (its settings; a flag that differs is an error).")
    var resume = false
    @Option(name: .customLong("gates-from"),
            help: "Export the masks a finished run (its --out) learned, at --ratio, without training.")
    var gatesFrom: String?
    @Flag(help: "No progress lines.")
    var quiet = false
    @Flag(help: "Print one JSON object at the end (parameters before and after, removed share, seconds, peak RSS).")
    var json = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        if let stopAfter, stopAfter < 1 { throw TweedieError.badInput("--stop-after: must be at least 1") }
        GenerateInterrupt.install()
        let started = Date()
        var s = try settings()
        let source = try ModelSource(path: s.model)
        // The kind is checked before the pipeline, whose own error would only say "not a denoising network".
        let probe = try ModelFolder.load(source.networkFolder)
        guard (probe as? PrunableModel)?.prunableGroups.isEmpty == false, probe is DiffusionModel else {
            throw TweedieError.badInput("-m \(s.model): \(probe.className) has no prunable units (heads, feed-forward "
                                        + "neurons or resnet channels); prune a UNet2DModel or a DiT")
        }
        let pipeline = try SamplingPipeline(source: source)
        guard pipeline.vae == nil else {
            throw TweedieError.badInput("-m \(s.model): a latent pipeline; prune its network folder instead")
        }
        guard let loaded = pipeline.network as? LoadedModel else {
            throw TweedieError.badInput("-m \(s.model): not a model folder this engine loaded")
        }
        var sidecars = PrunedExport.sidecars(of: pipeline.source.networkFolder)
        if let sched = pipeline.source.schedulerConfigPath { sidecars["scheduler_config.json"] = sched }
        let classes = pipeline.classes
        var logits: TuningParameters?
        if let gatesFrom {
            let (stored, learned) = try PruningRun.learnedLogits(run: gatesFrom, model: s.model)
            let ratio = s.ratio
            s = stored
            s.ratio = ratio
            logits = learned
        }
        let run = try PruningRun(model: loaded, scheduler: pipeline.scheduler, nullClass: classes.nullClass,
                                 classOf: { classes.isConditional ? classes.defaultClass(forImage: $0) : nil },
                                 settings: s, outDirectory: out, resume: resume,
                                 info: ["base weights SHA-256": try pipeline.weightsHash(),
                                        "engine": EngineVersion.string],
                                 sidecars: sidecars)
        if !quiet { run.log = { fputs("prune: \($0)\n", stderr) } }
        let summary: PrunedExport.Summary?
        do {
            if let logits {
                guard logits.names == run.gates.groups.indices.map(run.gates.logitName) else {
                    throw TweedieError.badInput("--gates-from \(gatesFrom!): its masks do not fit \(s.model)'s units")
                }
                summary = try run.export(scores: PruningRanking.scores(logits))
            } else {
                summary = try run.run(stopAfter: stopAfter, shouldStop: { GenerateInterrupt.requested })
            }
        } catch is CalibrationSet.Interrupted {
            fputs("tweedie: interrupted while sampling the calibration targets; nothing saved\n", stderr)
            throw ExitCode(GenerateInterrupt.signalExitCode)
        }
        guard let summary else {
            let step = run.loop?.state.step ?? 0
            if GenerateInterrupt.requested {
                fputs("tweedie: interrupted at update \(step)/\(s.steps); checkpoint in \(run.checkpointDirectory); "
                      + "continue with --resume\n", stderr)
                throw ExitCode(GenerateInterrupt.signalExitCode)
            }
            if !quiet { fputs("prune: stopped at update \(step)/\(s.steps); continue with --resume\n", stderr) }
            return
        }
        if json {
            print(JSONOutput.object([
                "out": .string(out), "method": .string(s.method.rawValue), "ratio": .number(s.ratio),
                "parameters_before": .int(summary.parametersBefore), "parameters_after": .int(summary.parametersAfter),
                "prunable_parameters": .int(summary.prunable), "removed_parameters": .int(summary.removed),
                "removed_share": .number(summary.removedShare, decimals: 6),
                "seconds": .number(Date().timeIntervalSince(started), decimals: 1),
                "peak_rss_mb": .number(PeakMemory.megabytes, decimals: 1),
            ]).text)
        }
    }

    /// The run's settings: the stored ones when resuming (flags must agree with them), else the defaults, with
    /// every flag given applied.
    private func settings() throws -> PruningSettings {
        let checkpoints = ((out as NSString).appendingPathComponent(PruningRun.stateFolder) as NSString)
            .appendingPathComponent("checkpoints")
        var s = PruningSettings()
        if resume, let newest = TuningCheckpoint.newest(in: checkpoints) {
            s = try PruningRun.settings(inCheckpoint: newest)
        } else if model == nil {
            throw TweedieError.badInput("-m/--model: give the model folder to prune")
        }
        if let model {
            s.model = URL(fileURLWithPath: model).standardizedFileURL.path
        }
        if let ratio { s.ratio = ratio }
        if let method {
            guard let m = PruningMethod(rawValue: method) else {
                throw TweedieError.badInput("--method: must be one of "
                                            + PruningMethod.allCases.map(\.rawValue).joined(separator: ", ")
                                            + ", got \(method)")
            }
            s.method = m
        }
        if let calibration { s.calibration = calibration }
        if let batch { s.batch = batch }
        if let accumulate { s.accumulate = accumulate }
        if let steps { s.steps = steps }
        if let samplingSteps { s.samplingSteps = samplingSteps }
        if let cfgScale { s.cfgScale = cfgScale }
        if let lr { s.learningRate = lr }
        if let weightDecay { s.weightDecay = weightDecay }
        if let regWeight { s.regWeight = regWeight }
        if let initLogit { s.initLogit = initLogit }
        if let beta { s.gate.beta = beta }
        if let gamma { s.gate.gamma = gamma }
        if let zeta { s.gate.zeta = zeta }
        if let maskEps { s.gate.eps = maskEps }
        if let seed { s.seed = seed }
        if noStepCheckpointing { s.stepCheckpointing = false }
        if let checkpointEvery { s.checkpointEvery = checkpointEvery }
        if let logEvery { s.logEvery = logEvery }
        try s.validate()
        return s
    }
}
