import Foundation
import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieTraining

/// One `tweedie prune` run: the gates over a loaded model, the learning of their logits with the shared
/// `TuningLoop` (trajectory or one-step loss) or a training-free score (magnitude, random), then the export of the
/// structurally smaller model into `--out`. The run's state lives in `<out>/pruning/`: `settings.json`,
/// `calibration.safetensors` (the unpruned trajectories), `log.csv` and `checkpoints/` (the logits and AdamW's
/// buffers), so an interrupted run resumes bit for bit.
public final class PruningRun {
    /// Folder of the run's state inside `--out`.
    public static let stateFolder = "pruning"
    /// Metadata key of the settings in a checkpoint.
    public static let settingsKey = "pruning_settings"

    public let settings: PruningSettings
    /// The base model as loaded (its gates are attached here).
    public let model: LoadedModel
    public let gates: PruningGates
    /// The model folder written.
    public let outDirectory: String
    /// Facts for the model card (base weights' SHA-256, ...), as "- key: value" lines.
    public let info: [String: String]
    /// Files copied into the export (name -> path): the base's scheduler config and labels.
    public let sidecars: [String: String]
    /// Progress lines (stderr in the CLI).
    public var log: (String) -> Void = { _ in }
    /// The loop of a learning method, once `run` has built it.
    public private(set) var loop: TuningLoop?
    private let scheduler: SchedulerConfig
    private let nullClass: Int?
    private let classOf: (Int) -> Int?
    private let resume: Bool

    /// A run over `model` (`nullClass`: the id guidance feeds for "no class"; `classOf(i)`: the class of
    /// calibration pair i, nil for an unconditional model). A model kind without prunable units, an `--out` holding
    /// another run (without `resume`) or a resumed run asked for with other settings is `badInput`.
    public init(model: LoadedModel, scheduler: SchedulerConfig, nullClass: Int?, classOf: @escaping (Int) -> Int?,
                settings: PruningSettings, outDirectory: String, resume: Bool, info: [String: String] = [:],
                sidecars: [String: String]? = nil) throws {
        try settings.validate()
        guard let prunable = model as? DiffusionModel & PrunableModel, !prunable.prunableGroups.isEmpty else {
            throw TweedieError.badInput("prune: \(model.className) has no prunable units (heads, feed-forward "
                                        + "neurons or resnet channels); prune a UNet2DModel or a DiT")
        }
        self.model = model
        self.settings = settings
        self.scheduler = scheduler
        self.nullClass = nullClass
        self.classOf = classOf
        self.outDirectory = outDirectory
        self.resume = resume
        self.info = info
        self.sidecars = sidecars ?? PrunedExport.sidecars(of: settings.model)
        gates = try PruningGates(model: prunable, gate: settings.gate)
        let stored = TuningCheckpoint.newest(in: checkpointDirectory)
        if let stored, !resume {
            throw TweedieError.badInput("--out \(outDirectory): holds a pruning run (\(stored)); continue it with "
                                        + "--resume or choose another --out")
        }
        if let stored, let message = settings.mismatch(try Self.settings(inCheckpoint: stored), directory: outDirectory) {
            throw TweedieError.badInput(message)
        }
    }

    /// `<out>/pruning`.
    public var stateDirectory: String { (outDirectory as NSString).appendingPathComponent(Self.stateFolder) }
    /// `<out>/pruning/checkpoints`.
    public var checkpointDirectory: String { (stateDirectory as NSString).appendingPathComponent("checkpoints") }

    /// The settings stored in checkpoint `path`.
    public static func settings(inCheckpoint path: String) throws -> PruningSettings {
        guard let text = try TuningCheckpoint.metadata(path)[settingsKey] else {
            throw TweedieError.badInput("\(path): not a pruning checkpoint (no '\(settingsKey)' metadata)")
        }
        return try PruningSettings(json: text, source: path)
    }

    /// Learns the logits (when the method does) and exports the model. Returns false, exporting nothing, when
    /// `shouldStop` ended the run early (the last update is checkpointed; `--resume` continues), or when
    /// `stopAfter` updates of this session were reached first.
    public func run(stopAfter: Int? = nil, shouldStop: @escaping () -> Bool = { false }) throws -> PrunedExport.Summary? {
        let scores: [[Float]]
        switch settings.method {
        case .magnitude: scores = PruningRanking.magnitudeScores(gates)
        case .random: scores = PruningRanking.randomScores(gates, seed: settings.seed)
        case .trajectory, .oneStep:
            guard let logits = try learn(stopAfter: stopAfter, shouldStop: shouldStop) else { return nil }
            scores = PruningRanking.scores(logits)
        }
        return try export(scores: scores)
    }

    /// The learned logits, or nil when the loop stopped before its last update.
    private func learn(stopAfter: Int?, shouldStop: @escaping () -> Bool) throws -> TuningParameters? {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try (settings.json + "\n").write(toFile: (stateDirectory as NSString).appendingPathComponent("settings.json"),
                                         atomically: true, encoding: .utf8)
        let sampler = try PruningSampler(gates: gates, scheduler: scheduler, samplingSteps: settings.samplingSteps,
                                         cfgScale: settings.cfgScale, nullClass: nullClass, seed: settings.seed)
        let cache = (stateDirectory as NSString).appendingPathComponent(CalibrationSet.cacheFile)
        let key = [settings.model, "\(settings.calibration)", "\(settings.samplingSteps)", "\(settings.cfgScale)",
                   "\(settings.seed)", settings.method.rawValue].joined(separator: "|")
        var last = Date.distantPast
        let calibration = try CalibrationSet(
            sampler: sampler, count: settings.calibration, classOf: classOf, batch: max(settings.batch, 4),
            keepStates: settings.method == .oneStep, cachePath: cache, key: key,
            progress: { [unowned self] done, count in
                guard done == count || Date().timeIntervalSince(last) > 5 else { return }
                last = Date()
                self.log("calibration: \(done)/\(count) unpruned trajectories")
            }, shouldStop: shouldStop)
        let objective = PruningObjective(sampler: sampler, calibration: calibration, settings: settings)
        let initial = try gates.initialLogits(settings.initLogit)
        let optimizer = AdamW(parameters: initial.values, learningRate: settings.learningRate,
                              weightDecay: settings.weightDecay)
        let loop = try TuningLoop(parameters: initial, optimizer: optimizer, objective: objective,
                                  settings: settings.loop, directory: stateDirectory,
                                  metadata: [Self.settingsKey: settings.json], resume: resume)
        loop.log = log
        self.loop = loop
        if try loop.run(stopAfter: stopAfter, shouldStop: shouldStop) { return nil }
        return loop.state.step >= settings.steps ? loop.state.parameters : nil
    }

    /// Ranks `scores` at the settings' ratio and writes the model.
    public func export(scores: [[Float]]) throws -> PrunedExport.Summary {
        let keep = PruningRanking.keep(scores: scores, parametersPerUnit: gates.parametersPerUnit, ratio: settings.ratio)
        var card = ["## How it was made", "", "- base model: `\(settings.model)`"]
        card += info.keys.sorted().map { "- \($0): \(info[$0]!)" }
        card += ["- method: \(settings.method.rawValue)", String(format: "- requested ratio: %.3g of the prunable parameters",
                                                                 settings.ratio),
                 "- settings: `\(settings.json)`"]
        let summary = try PrunedExport.write(model: model, gates: gates, keep: keep, base: settings.model,
                                             sidecars: sidecars, to: outDirectory, metadata: ["tweedie_pruning": settings.json], card: card)
        log(String(format: "exported %@: %d -> %d parameters (%.1f %% of the prunable ones removed)", outDirectory,
                   summary.parametersBefore, summary.parametersAfter, 100 * summary.removedShare))
        return summary
    }

    /// The logits of the finished run in `directory` (an earlier `tweedie prune --out`), for exporting it at
    /// another ratio; a run not finished, or over another model, is `badInput`.
    public static func learnedLogits(run directory: String, model: String) throws -> (PruningSettings, TuningParameters) {
        let checkpoints = ((directory as NSString).appendingPathComponent(stateFolder) as NSString)
            .appendingPathComponent("checkpoints")
        guard let newest = TuningCheckpoint.newest(in: checkpoints) else {
            throw TweedieError.badInput("--gates-from \(directory): no pruning checkpoint in \(checkpoints)")
        }
        let s = try settings(inCheckpoint: newest)
        guard s.model == model else {
            throw TweedieError.badInput("--gates-from \(directory): that run pruned \(s.model), not \(model)")
        }
        let file = try SafeTensorsFile(path: newest)
        let meta = try TuningCheckpoint.metadata(newest)
        guard let step = Int(meta["step"] ?? ""), step >= s.steps else {
            throw TweedieError.badInput("--gates-from \(directory): the run is not finished (step \(meta["step"] ?? "?") "
                                        + "of \(s.steps)); finish it with --resume first")
        }
        let names = (meta["parameter_order"] ?? "").split(separator: ",").map(String.init)
        return (s, try TuningParameters(try names.map { ($0, try file.tensor("param/" + $0)) }))
    }
}
