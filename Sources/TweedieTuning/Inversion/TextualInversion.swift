import Foundation
import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieTraining

/// A textual-inversion run for a class-conditional model: a new row is appended to the model's class tables
/// (initialised from a class's row, or the mean of the real classes' rows), the rest of the model stays frozen,
/// and the shared `TuningLoop` optimises the row with Adam (no weight decay) from the ZOODiP estimate or the
/// backprop gradient. The run folder holds `log.csv`, `checkpoints/` and, for the subspace gradient,
/// `subspace.safetensors` (its snapshots, so `resume` continues exactly); `embedding()` is the learned concept.
public final class TextualInversion {
    /// Metadata key of the settings in a checkpoint.
    public static let settingsKey = "inversion_settings"
    /// The subspace state's file in the run folder.
    public static let subspaceFile = "subspace.safetensors"

    public let settings: InversionSettings
    public let problem: InversionProblem
    public let loop: TuningLoop
    /// The subspace gradient of a ZO run with it on.
    public let subspace: SubspaceGradient?
    /// Facts stored in the embedding (model name, weights hash).
    public let info: [String: String]

    /// A run over `model` (class tables unchanged on entry) learning from `images` [N, C, H, W] into `runDirectory`.
    public init(model: ClassEmbeddingTables, scheduler: SchedulerConfig, images: Tensor, settings: InversionSettings,
                runDirectory: String, resume: Bool = false, info: [String: String] = [:]) throws {
        try settings.validate()
        let tables = model.classEmbeddingTables
        guard !tables.isEmpty else {
            throw TweedieError.badInput("invert: the model has no class-embedding table (a class-conditional "
                                        + "UNet2DModel or DiT is needed)")
        }
        let rows = model.classRowCount
        let null = model.classConditioning.defaultNull
        let real = (0..<rows).filter { $0 != null }
        let initial: [Tensor]
        if let c = settings.initClass {
            guard real.contains(c) else {
                throw TweedieError.badInput("--init-class \(c): not a class of the model (0...\(rows - 1)"
                                            + (null.map { " except the null class \($0)" } ?? "") + ")")
            }
            initial = model.classRow(c)
        } else {
            let all = real.map { model.classRow($0) }
            initial = tables.indices.map { k in
                let w = all[0][k].count
                return Tensor(shape: [w], data: (0..<w).map { j in all.reduce(0) { $0 + $1[k].data[j] } / Float(all.count) })
            }
        }
        let id = try model.appendClassRow(initial)
        let alphas = NoiseSchedule.alphasCumprod(scheduler)
        let band = settings.puts ? PartialUniformTimesteps.band(for: alphas) : 0..<alphas.count
        problem = try InversionProblem(model: model, conceptID: id, images: images, alphasCumprod: alphas,
                                       prediction: scheduler.predictionType, band: band, batch: settings.batch,
                                       seed: settings.seed)
        let objective: TuningObjective
        switch settings.method {
        case .zo:
            subspace = settings.subspace
                ? SubspaceGradient(dimension: problem.dimension, window: settings.tau, nu: settings.nu) : nil
            objective = ZerothOrderObjective(problem: problem,
                                             estimator: ForwardDifference(directions: settings.directions, mu: settings.mu),
                                             seed: settings.seed, subspace: subspace)
        case .backprop:
            subspace = nil
            objective = BackpropObjective(problem: problem)
        }
        let parameters = try TuningParameters(zip(tables, initial).map { ($0, $1) })
        // ZO-Adam is Adam with ε 1e-3 and no weight decay: m, v with β 0.9/0.999, bias-corrected, θ -= lr·m̂/(√v̂ + ε).
        let optimizer = AdamW(parameters: parameters.values, learningRate: settings.learningRate,
                              eps: settings.epsilon, weightDecay: 0)
        // No clipping: neither ZOODiP nor diffusers' textual inversion clips.
        let loopSettings = TuningLoopSettings(steps: settings.steps, maxGradNorm: nil,
                                              checkpointEvery: max(1, settings.steps), keepCheckpoints: 1,
                                              logEvery: max(1, settings.steps / 20))
        loop = try TuningLoop(parameters: parameters, optimizer: optimizer, objective: objective, settings: loopSettings,
                              directory: runDirectory, metadata: [Self.settingsKey: settings.json], resume: resume)
        self.settings = settings
        var facts = info
        facts["method"] = settings.method.rawValue
        self.info = facts
        if resume, let subspace { try restoreSubspace(subspace) }
        let sub = subspace
        loop.onUpdate = { [unowned self] _ in sub?.record(flattened(self.loop.state.parameters)) }
        loop.onCheckpoint = { [unowned self] _ in try self.saveSubspace() }
    }

    /// The concept's class id in the model (the tables' former row count).
    public var conceptID: Int { problem.conceptID }

    /// Runs the loop (see `TuningLoop.run`); the model's concept row is left at the learned value.
    @discardableResult
    public func run(stopAfter: Int? = nil, shouldStop: () -> Bool = { false }) throws -> Bool {
        let stopped = try loop.run(stopAfter: stopAfter, shouldStop: shouldStop)
        problem.model.setClassRow(conceptID, loop.state.parameters.values)
        return stopped
    }

    /// The learned concept as an embedding file's contents.
    public func embedding() -> ClassEmbeddingFile {
        var meta = info
        meta["steps"] = String(loop.state.step)
        meta[Self.settingsKey] = settings.json
        return ClassEmbeddingFile(rows: zip(loop.state.parameters.names, loop.state.parameters.values).map { ($0, $1) },
                                  label: settings.label, metadata: meta)
    }

    private var subspacePath: String { (loop.directory as NSString).appendingPathComponent(Self.subspaceFile) }

    private func saveSubspace() throws {
        guard let subspace else { return }
        let s = subspace.state, d = subspace.dimension
        var tensors: [(String, Tensor)] = []
        if !s.snapshots.isEmpty { tensors.append(("snapshots", Tensor(shape: [s.snapshots.count, d], data: s.snapshots.flatMap { $0 }))) }
        if !s.removed.isEmpty { tensors.append(("removed", Tensor(shape: [s.removed.count, d], data: s.removed.flatMap { $0 }))) }
        try SafeTensorsWriter.write(tensors, metadata: ["recorded": String(s.recorded), "step": String(loop.state.step)],
                                    to: subspacePath)
    }

    private func restoreSubspace(_ subspace: SubspaceGradient) throws {
        guard loop.state.step > 0 else { return }
        let file = try SafeTensorsFile(path: subspacePath)
        guard file.metadata["step"] == String(loop.state.step), let recorded = Int(file.metadata["recorded"] ?? "") else {
            throw TweedieError.badInput("\(subspacePath): does not belong to the checkpoint of step \(loop.state.step)")
        }
        func rows(_ name: String) throws -> [[Float]] {
            guard let info = file.info(name) else { return [] }
            let t = try file.tensor(name, shape: info.shape), d = info.shape[1]
            return (0..<info.shape[0]).map { Array(t.data[($0 * d)..<(($0 + 1) * d)]) }
        }
        subspace.restore(snapshots: try rows("snapshots"), recorded: recorded, removed: try rows("removed"))
    }
}
