import Foundation
import TweedieCore
import TweedieTraining

/// The optimisation loop of the tuning methods (reward backpropagation, zeroth-order inversion, mask learning):
/// parameters, an objective, an optimiser, gradient accumulation and clipping, a CSV log, checkpoints and resume.
/// A method supplies its `TuningObjective` (and, for its own outputs, `onCheckpoint`); the loop does the rest.
/// A resumed run ends bit-identical to an uninterrupted one, since the objective is keyed by (step, micro-batch)
/// and the checkpoint holds the parameters, the optimiser's buffers and its step count.
public final class TuningLoop {
    /// The method's objective.
    public let objective: TuningObjective
    /// The update rule (its learning rate is set from `learningRate` before each update).
    public let optimizer: Optimizer
    /// Steps, accumulation, clipping, checkpoint and log cadence.
    public let settings: TuningLoopSettings
    /// The run's folder: `log.csv` and `checkpoints/`.
    public let directory: String
    /// Entries stored in every checkpoint's metadata (the method's settings).
    public let metadata: [String: String]
    /// Where the run stands.
    public private(set) var state: TuningState
    /// The learning rate of (0-based) update k; constant at the optimiser's initial rate unless set.
    public var learningRate: (Int) -> Float
    /// Progress lines (stderr in the CLI).
    public var log: (String) -> Void = { _ in }
    /// Called after every update with its figures (progress bars, tests).
    public var onUpdate: ((TuningUpdate) -> Void)?
    /// Called after every checkpoint with the state it saved (a method writes its own files here).
    public var onCheckpoint: ((TuningState) throws -> Void)?

    /// A loop over `parameters` writing into `directory`; with `resume` it continues from the newest checkpoint
    /// there (whose parameters must be the same names and shapes), else it starts at step 0.
    public init(parameters: TuningParameters, optimizer: Optimizer, objective: TuningObjective,
                settings: TuningLoopSettings, directory: String, metadata: [String: String] = [:],
                resume: Bool = false) throws {
        try settings.validate()
        self.objective = objective
        self.optimizer = optimizer
        self.settings = settings
        self.directory = directory
        self.metadata = metadata
        let initialRate = optimizer.learningRate
        learningRate = { _ in initialRate }
        state = TuningState(step: 0, parameters: parameters, optimizerState: [:], optimizerSteps: 0,
                            elapsedSeconds: 0, cpuSeconds: 0)
        if resume, let newest = TuningCheckpoint.newest(in: checkpointDirectory) {
            state = try TuningCheckpoint.read(newest, like: parameters)
            try optimizer.restore(state: state.optimizerState, stepCount: state.optimizerSteps)
        }
    }

    /// `<directory>/checkpoints`.
    public var checkpointDirectory: String { (directory as NSString).appendingPathComponent("checkpoints") }
    /// `<directory>/log.csv`.
    public var logPath: String { (directory as NSString).appendingPathComponent("log.csv") }

    /// Runs updates until `settings.steps`, or `stopAfter` more, or until `shouldStop` (checked after each
    /// update; the update in flight finishes and is checkpointed). Returns true when stopped early by `shouldStop`.
    @discardableResult
    public func run(stopAfter: Int? = nil, shouldStop: () -> Bool = { false }) throws -> Bool {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let csv = try TuningLog(path: logPath, metrics: objective.metricNames, keepThrough: state.step)
        // No `step + Int.max`: it would wrap in an unchecked build.
        let end = min(settings.steps, stopAfter.map { state.step + max($0, 0) } ?? settings.steps)
        var checkpointed = state.step
        if shouldStop() { return true }
        while state.step < end {
            let u = try update()
            csv.append(step: u.step, loss: u.loss, metrics: objective.metricNames.map { u.metrics[$0] ?? .nan },
                       gradNorm: u.gradNorm, lr: u.learningRate, seconds: u.seconds, cpuSeconds: u.cpuSeconds,
                       elapsed: state.elapsedSeconds, peakRSS: u.peakRSS)
            onUpdate?(u)
            if u.step % settings.logEvery == 0 || u.step == end { log(u.line(of: settings.steps)) }
            if u.step % settings.checkpointEvery == 0 || u.step == end {
                try saveCheckpoint()
                checkpointed = u.step
            }
            if state.step < end && shouldStop() {
                if checkpointed != state.step { try saveCheckpoint() }
                return true
            }
        }
        return false
    }

    /// One update: the objective on every micro-batch, the mean gradient clipped, one optimiser step.
    /// A non-finite loss or gradient is a runtime error naming the update (the parameters are left unchanged).
    public func update() throws -> TuningUpdate {
        let wall0 = StepTiming.now(), cpu0 = StepTiming.cpuNow()
        let lr = learningRate(state.step)
        optimizer.learningRate = lr
        var grads = state.parameters.zeros()
        var loss = 0.0
        var metrics: [String: Double] = [:]
        let share = 1 / Float(settings.accumulate)
        for m in 0..<settings.accumulate {
            let e = try objective.evaluate(state.parameters, step: state.step, microBatch: m)
            guard e.gradients.count == grads.count,
                  zip(e.gradients, grads).allSatisfy({ $0.shape == $1.shape }) else {
                throw TweedieError.runtime("tuning: the objective returned gradients shaped "
                                           + "\(e.gradients.map(\.shape)), the parameters are \(grads.map(\.shape))")
            }
            for i in grads.indices {
                grads[i].withUnsafeMutableBufferPointer { acc in
                    e.gradients[i].withUnsafeBufferPointer { g in for j in 0..<acc.count { acc[j] += g[j] * share } }
                }
            }
            loss += e.loss / Double(settings.accumulate)
            for (k, v) in e.metrics { metrics[k, default: 0] += v / Double(settings.accumulate) }
        }
        let norm = settings.maxGradNorm.map { clipGradientNorm(&grads, maxNorm: $0) }
            ?? clipGradientNorm(&grads, maxNorm: .infinity)
        guard loss.isFinite, norm.isFinite else {
            throw TweedieError.runtime("tuning: update \(state.step + 1) has a non-finite "
                                       + (loss.isFinite ? "gradient (norm \(norm))" : "loss (\(loss))")
                                       + "; lower --lr or check the reward")
        }
        optimizer.update(&state.parameters.values, gradients: grads)
        state.step += 1
        let seconds = StepTiming.now() - wall0, cpu = StepTiming.cpuNow() - cpu0
        state.elapsedSeconds += seconds
        state.cpuSeconds += cpu
        return TuningUpdate(step: state.step, loss: loss, metrics: metrics, gradNorm: norm, learningRate: lr,
                            seconds: seconds, cpuSeconds: cpu, peakRSS: PeakMemory.megabytes)
    }

    /// Writes a checkpoint of the current state (and calls `onCheckpoint`); returns its path.
    @discardableResult
    public func saveCheckpoint() throws -> String {
        let byKind = Dictionary(grouping: optimizer.state, by: \.kind).mapValues { entries in
            Dictionary(uniqueKeysWithValues: entries.map { ($0.index, $0.value) })
        }
        state.optimizerState = byKind
        state.optimizerSteps = optimizer.stepCount
        let path = try TuningCheckpoint.write(state, metadata: metadata, directory: checkpointDirectory,
                                              keep: settings.keepCheckpoints)
        try onCheckpoint?(state)
        log("checkpoint: \(path)")
        return path
    }
}

/// The figures of one update.
public struct TuningUpdate {
    /// Updates completed, this one included.
    public let step: Int
    /// Mean loss over the micro-batches.
    public let loss: Double
    /// Mean of each metric over the micro-batches.
    public let metrics: [String: Double]
    /// Global gradient norm before clipping.
    public let gradNorm: Float
    /// Learning rate used.
    public let learningRate: Float
    /// Wall and process-CPU seconds of the update.
    public let seconds: Double
    public let cpuSeconds: Double
    /// Peak RSS of the process so far (MiB).
    public let peakRSS: Double

    /// "step 3/20  loss -0.41  reward 0.41  |g| 0.12  lr 1e-03  2.1 s  cpu 4.0 s  rss 180 MB".
    public func line(of total: Int) -> String {
        var parts = [String(format: "step %d/%d", step, total), String(format: "loss %.5f", loss)]
        parts += metrics.keys.sorted().map { String(format: "%@ %.5f", $0, metrics[$0]!) }
        parts += [String(format: "|g| %.4f", gradNorm), String(format: "lr %.2e", learningRate),
                  String(format: "%.2f s", seconds), String(format: "cpu %.2f s", cpuSeconds),
                  String(format: "peak RSS %.0f MB", peakRSS)]
        return parts.joined(separator: "  ")
    }
}
