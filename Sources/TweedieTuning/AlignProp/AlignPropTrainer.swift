import Foundation
import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieTraining

/// A reward-backpropagation run: fresh LoRA factors on the model's target layers, the AlignProp objective, AdamW
/// and the shared `TuningLoop`, writing into one folder: `log.csv`, `checkpoints/`, `settings.json` and
/// `lora.safetensors` (the current adapter in diffusers' layout, refreshed at every checkpoint). With `resume`
/// it continues from the newest checkpoint and ends exactly where an uninterrupted run would.
public final class AlignPropTrainer {
    /// Metadata key of the settings in a checkpoint.
    public static let settingsKey = "alignprop_settings"
    /// The adapter's file name in the output folder.
    public static let adapterFile = "lora.safetensors"

    public let settings: AlignPropSettings
    public let objective: AlignPropObjective
    public let loop: TuningLoop
    /// `_class_name` of the model, stored in the adapter.
    public let className: String
    /// Facts stored in the adapter (base model name, weights SHA-256, reward).
    public let info: [String: String]

    /// A run over `model` (see `AlignPropObjective.init` for `nullClass` and `classOf`) into `outDirectory`.
    public init(model: DiffusionModel, className: String, scheduler: SchedulerConfig, reward: DifferentiableReward,
                settings: AlignPropSettings, nullClass: Int?, classOf: @escaping (Int) -> Int?,
                outDirectory: String, resume: Bool, info: [String: String] = [:]) throws {
        try settings.validate()
        self.settings = settings
        self.className = className
        var facts = info
        facts["reward"] = reward.name
        self.info = facts
        // The objective checks the reward, guidance and the network before any LoRA is attached.
        let objective = try AlignPropObjective(model: model, scheduler: scheduler, reward: reward, settings: settings,
                                               nullClass: nullClass, classOf: classOf)
        let parameters = try settings.loraTargets.attach(to: model.weights, rank: settings.loraRank,
                                                         alpha: settings.alpha, seed: settings.seed)
        let optimizer = AdamW(parameters: parameters.values, learningRate: settings.learningRate,
                              weightDecay: settings.weightDecay)
        self.objective = objective
        loop = try TuningLoop(parameters: parameters, optimizer: optimizer, objective: objective,
                              settings: settings.loop, directory: outDirectory,
                              metadata: [Self.settingsKey: settings.json], resume: resume)
        let schedule = settings
        loop.learningRate = { schedule.rate(at: $0) }
        loop.onCheckpoint = { [unowned self] state in
            try LoRAAdapterFile.write(self.adapter(state.parameters), to: self.adapterPath)
        }
    }

    /// `<out>/lora.safetensors`.
    public var adapterPath: String { (loop.directory as NSString).appendingPathComponent(Self.adapterFile) }

    /// The adapter of `parameters` (the loop's, by default).
    public func adapter(_ parameters: TuningParameters? = nil) -> LoRAAdapter {
        let p = parameters ?? loop.state.parameters
        var layers: [LoRAAdapter.Layer] = []
        for (i, name) in p.names.enumerated() where name.hasSuffix(".lora_A.weight") {
            let prefix = String(name.dropLast(".lora_A.weight".count))
            layers.append(.init(prefix: prefix, a: p.values[i], b: p[prefix + ".lora_B.weight"]!, alpha: settings.alpha))
        }
        var facts = info
        facts["steps"] = String(loop.state.step)
        return LoRAAdapter(layers: layers, className: className, info: facts)
    }

    /// Runs the loop (see `TuningLoop.run`), first writing `settings.json`.
    @discardableResult
    public func run(stopAfter: Int? = nil, shouldStop: () -> Bool = { false }) throws -> Bool {
        try FileManager.default.createDirectory(atPath: loop.directory, withIntermediateDirectories: true)
        try (settings.json + "\n").write(toFile: (loop.directory as NSString).appendingPathComponent("settings.json"),
                                         atomically: true, encoding: .utf8)
        return try loop.run(stopAfter: stopAfter, shouldStop: shouldStop)
    }

    /// The settings stored in checkpoint `path`.
    public static func settings(inCheckpoint path: String) throws -> AlignPropSettings {
        guard let text = try TuningCheckpoint.metadata(path)[settingsKey] else {
            throw TweedieError.badInput("\(path): not a finetune checkpoint (no '\(settingsKey)' metadata)")
        }
        return try AlignPropSettings(json: text, source: path)
    }
}
