import Foundation
import TweedieCore
import TweedieModels

/// Trains a `TweedieClassifier` with softmax cross-entropy: AdamW, linear warm-up then half-cosine learning rate,
/// global-norm clipping, a fresh permutation of the data per epoch. Writes under `outDirectory`:
///
///     checkpoints/step-XXXXXXXX.safetensors   weights + optimiser state + step + data position + recipe
///     loss.csv                                 step, epoch, mean loss and batch accuracy since the last row, lr
///
/// A run resumes exactly (same weights, optimiser state and data order) from its newest checkpoint.
public final class ClassifierTrainer {
    /// The settings.
    public let recipe: ClassifierRecipe
    /// The network being trained.
    public let network: TweedieClassifier
    /// The labelled images.
    public let dataset: TrainingDataset
    /// Output folder.
    public let outDirectory: String
    /// Where progress lines go (stdout by default).
    public var log: (String) -> Void = { print($0); fflush(stdout) }

    /// The current state (weights, optimiser, counters).
    public private(set) var state: ClassifierTrainingState
    /// Images drawn from (the data set, or its first `trainLimit`).
    public let trainCount: Int
    /// Optimiser steps of the whole run.
    public let totalSteps: Int

    private let names: [String]
    private let optimizer: AdamW
    private var order: DataOrder
    private let schedule: LearningRateSchedule
    private var window = (loss: 0.0, correct: 0, seen: 0, steps: 0)
    private var lossLog: FileHandle?

    /// Sets up a run; with `resume` it continues from the newest checkpoint in `out/checkpoints` (written by a run
    /// with the same network, data size and seed), else starts from PyTorch-default initial weights.
    public init(recipe: ClassifierRecipe, dataset: TrainingDataset, outDirectory: String, resume: Bool) throws {
        try recipe.validate()
        let net = try TweedieClassifier.network(config: recipe.config)
        let c = recipe.config
        guard dataset.sampleShape == [c.inChannels, c.sampleSize, c.sampleSize] else {
            throw TweedieError.badInput("classifier recipe 'config': describes [\(c.inChannels), \(c.sampleSize), "
                                        + "\(c.sampleSize)] images but the data has \(dataset.sampleShape)")
        }
        guard let classes = dataset.classNames, classes.count == c.numClasses else {
            throw TweedieError.badInput("classifier recipe 'config': \(c.numClasses) classes but the data has "
                                        + "\(dataset.classNames.map { "\($0.count)" } ?? "no labels")")
        }
        self.recipe = recipe
        self.network = net
        self.dataset = dataset
        self.outDirectory = outDirectory
        names = net.parameterShapes.map(\.name)
        trainCount = min(dataset.count, recipe.trainLimit ?? dataset.count)
        totalSteps = recipe.epochs * recipe.stepsPerEpoch(count: trainCount)
        schedule = LearningRateSchedule(base: recipe.learningRate, warmupSteps: recipe.warmupSteps,
                                        totalSteps: totalSteps)

        let checkpoints = (outDirectory as NSString).appendingPathComponent("checkpoints")
        if resume, let path = ClassifierCheckpoint.list(checkpoints).last {
            let saved = try ClassifierCheckpoint.recipe(path)
            guard saved.config == recipe.config, saved.seed == recipe.seed, saved.colourSeed == recipe.colourSeed,
                  saved.trainLimit == recipe.trainLimit, saved.batch == recipe.batch,
                  saved.recolour == recipe.recolour else {
                throw TweedieError.badInput("--resume: \(path) was written by a run with another network, data, "
                                            + "recolouring, batch or seed")
            }
            state = try ClassifierCheckpoint.read(path, shapes: net.parameterShapes)
            log("resuming from \(path) at step \(state.step)")
        } else {
            let initial = try TweedieClassifier.initialParameters(config: recipe.config, seed: recipe.seed)
            state = ClassifierTrainingState(step: 0, dataPosition: 0, parameters: initial.map(\.1), optimizerState: [:],
                                            optimizerSteps: 0, elapsedSeconds: 0)
        }
        optimizer = AdamW(parameters: state.parameters, learningRate: recipe.learningRate,
                          weightDecay: recipe.weightDecay)
        if state.optimizerSteps > 0 {
            try optimizer.restore(state: state.optimizerState, stepCount: state.optimizerSteps)
        }
        order = DataOrder(count: trainCount, seed: recipe.seed, position: state.dataPosition)
    }

    /// Whether every step of the run is done.
    public var isFinished: Bool { state.step >= totalSteps }

    /// Epoch (from 0) of the next step.
    public var epoch: Int { state.step / recipe.stepsPerEpoch(count: trainCount) }

    /// The weights under their checkpoint names.
    public var namedParameters: [(String, Tensor)] { Array(zip(names, state.parameters)) }

    /// The inference network over the current weights.
    public func model() throws -> TweedieClassifier {
        try TweedieClassifier(config: recipe.config,
                              store: WeightStore(source: TensorTableSource(namedParameters, description: "<trainer>")))
    }

    /// One optimiser step on the next batch; returns its loss and the share of the batch classified correctly.
    @discardableResult
    public func trainStep() throws -> (loss: Float, accuracy: Float) {
        let started = Date()
        let indices = order.next(recipe.batch)
        let batch = dataset.batch(indices)
        guard let labels = batch.labels else { throw TweedieError.badInput("classifier training: data has no labels") }
        let tape = Tape()
        let leaves = state.parameters.map { tape.leaf($0, requiresGrad: true) }
        let table = Dictionary(uniqueKeysWithValues: zip(names, leaves))
        let logits = try network.logits(tape, parameters: table, images: tape.constant(batch.images))
        let loss = tape.crossEntropy(logits, labels: labels, labelSmoothing: recipe.labelSmoothing)
        var gradients = tape.gradients(of: loss, wrt: leaves)
        if recipe.gradClip > 0 { clipGradientNorm(&gradients, maxNorm: recipe.gradClip) }
        optimizer.learningRate = schedule.rate(at: state.step)
        optimizer.update(&state.parameters, gradients: gradients)
        state.step += 1
        state.dataPosition = order.position
        state.optimizerSteps = optimizer.stepCount
        state.elapsedSeconds += Date().timeIntervalSince(started)

        let correct = Self.argmax(logits.value).enumerated().filter { labels[$0.offset] == $0.element }.count
        let value = loss.value.data[0]
        guard value.isFinite else {
            throw TweedieError.runtime("classifier training: loss is \(value) at step \(state.step); lower --lr")
        }
        window.loss += Double(value)
        window.correct += correct
        window.seen += labels.count
        window.steps += 1
        return (value, Float(correct) / Float(labels.count))
    }

    /// Trains until the run is finished, `stopAfter` steps of this session are done, or `shouldStop` says so
    /// (checked between steps); logs every `logEvery` steps and checkpoints every `checkpointEvery` steps and at the
    /// end of the session.
    public func run(stopAfter: Int? = nil, shouldStop: () -> Bool = { false }) throws {
        try openLossLog()
        var done = 0
        while !isFinished && done < (stopAfter ?? Int.max) && !shouldStop() {
            try trainStep()
            done += 1
            if state.step % recipe.logEvery == 0 || isFinished { flushLog() }
            if state.step % recipe.checkpointEvery == 0 && !isFinished { try saveCheckpoint() }
        }
        if window.steps > 0 { flushLog() }
        if done > 0 { try saveCheckpoint() }
    }

    /// Writes a checkpoint of the current state; returns its path.
    @discardableResult
    public func saveCheckpoint() throws -> String {
        state.optimizerState = [:]
        for (kind, i, t) in optimizer.state { state.optimizerState[kind, default: [:]][i] = t }
        let dir = (outDirectory as NSString).appendingPathComponent("checkpoints")
        return try ClassifierCheckpoint.write(state, names: names, recipe: recipe, directory: dir)
    }

    /// Arg-max column of each row of `logits` [N, K] (lowest index on ties).
    public static func argmax(_ logits: Tensor) -> [Int] {
        let k = logits.shape[1]
        return (0..<logits.shape[0]).map { r in
            var best = 0
            for j in 1..<k where logits.data[r * k + j] > logits.data[r * k + best] { best = j }
            return best
        }
    }

    private func flushLog() {
        guard window.steps > 0 else { return }
        let loss = window.loss / Double(window.steps), acc = Double(window.correct) / Double(max(1, window.seen))
        let lr = schedule.rate(at: max(0, state.step - 1))
        let perStep = state.elapsedSeconds / Double(max(1, state.step))
        log(String(format: "step %d/%d  epoch %d  loss %.4f  batch acc %.3f  lr %.2e  %.3f s/step  %.0f s",
                   state.step, totalSteps, (state.step - 1) / recipe.stepsPerEpoch(count: trainCount), loss, acc,
                   lr, perStep, state.elapsedSeconds))
        let row = String(format: "%d,%d,%.6f,%.4f,%.6g,%.1f\n", state.step,
                         (state.step - 1) / recipe.stepsPerEpoch(count: trainCount), loss, acc, lr,
                         state.elapsedSeconds)
        lossLog?.write(Data(row.utf8))
        window = (0, 0, 0, 0)
    }

    /// Opens loss.csv, dropping rows after the restored step so the log matches the run.
    private func openLossLog() throws {
        guard lossLog == nil else { return }
        try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
        let path = (outDirectory as NSString).appendingPathComponent("loss.csv")
        var lines = ["step,epoch,loss,batch_accuracy,lr,elapsed_seconds"]
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n").dropFirst() {
                if let s = Int(line.split(separator: ",").first ?? ""), s <= state.step { lines.append(String(line)) }
            }
        }
        do {
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw TweedieError.badInput("\(path): cannot be written (\(error.localizedDescription))")
        }
        lossLog = FileHandle(forWritingAtPath: path)
        lossLog?.seekToEndOfFile()
    }
}
