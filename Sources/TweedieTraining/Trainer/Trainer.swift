import Foundation
import TweedieCore
import TweedieImaging
import TweedieModels
import TweedieNoise

/// Trains a UNet2DModel or a DiT (`DifferentiableDiffusionNetwork`, chosen by the model config's `_class_name`)
/// with the DDPM objective: AdamW, warm-up + cosine learning rate, global-norm clipping, EMA weights; writes
/// resumable checkpoints, a CSV loss log, sample grids and a diffusers folder under `out`:
///
///     out/checkpoints/step-XXXXXXXX.safetensors   weights + EMA + optimiser state + step + data position
///     out/loss.csv                                 one row per `logEvery` steps
///     out/samples/step-XXXXXXXX.png               EMA samples, fixed seed (and out/loss.png, the loss curve)
///     out/model/                                   diffusers folder of the EMA weights (updated at checkpoints);
///                                                  with a `vae` in the recipe, a pipeline folder (`PipelineExport`)
///     out/recipe.json                              the settings
///
/// A learned-sigma network (out_channels = 2 x in_channels), as DiT is trained: MSE on its first half (the ε or v
/// prediction) plus `VarianceBoundLoss` on its second half (the variance channels, mean held fixed); the exported
/// scheduler then says learned_range.
public final class Trainer {
    /// The settings.
    public let recipe: TrainingRecipe
    /// The network being trained.
    public let network: DifferentiableDiffusionNetwork
    /// The data (the `LatentDataset` over it when the recipe names a VAE).
    public let dataset: TrainingDataset
    /// Output folder.
    public let outDirectory: String
    /// Where progress lines go (stdout by default).
    public var log: (String) -> Void = { print($0); fflush(stdout) }

    /// The current state (weights, EMA, optimiser, counters).
    public private(set) var state: TrainingState
    private let names: [String]
    private let optimizer: AdamW
    private let ema: EMA
    private var order: DataOrder
    private let objective: DiffusionObjective
    private let varianceBound: VarianceBoundLoss
    private let schedule: LearningRateSchedule
    private let scheduler: SchedulerConfig
    private let classes: Int?
    private let sampleRenderer: SampleGridRenderer?
    /// The latents the network learns, when the recipe names a VAE (also what decodes the sample grids).
    public let latents: LatentDataset?
    /// Phase times of the latest `step()`.
    public private(set) var lastStepTiming = StepTiming()
    /// Phase times of every step the latest `run` took, in order (checkpoint and sample writing excluded).
    public private(set) var stepTimings: [StepTiming] = []

    /// Sets up a run; with `resume` it continues from the newest checkpoint in `out/checkpoints` (whose recipe
    /// must describe the same network and data), else starts from PyTorch-default initial weights.
    /// `samples` draws the grids of `sample_every` (none without it).
    public init(recipe: TrainingRecipe, dataset: TrainingDataset, outDirectory: String, resume: Bool,
                samples: SampleGridRenderer? = nil) throws {
        try recipe.validate()
        try samples?.validate(recipe.sampleGridSettings)
        sampleRenderer = samples
        let net = try recipe.network()
        let shape = net.sampleShape, channels = shape.first ?? 0
        guard net.outChannels == channels || net.outChannels == 2 * channels else {
            throw TweedieError.badInput("--model-config: out_channels \(net.outChannels) must be in_channels "
                                        + "\(channels) or twice it (learned sigma)")
        }
        var dataset = dataset
        if let folder = recipe.vae {
            let encoded = try LatentDataset(images: dataset, vaeFolder: folder, dataName: recipe.data)
            guard encoded.sampleShape[0] == channels else {
                throw TweedieError.badInput("--vae \(folder): latent_channels \(encoded.sampleShape[0]) differ from the "
                                            + "model config's in_channels \(channels)")
            }
            latents = encoded
            dataset = encoded
        } else {
            latents = nil
        }
        guard shape == dataset.sampleShape else {
            throw TweedieError.badInput("--model-config: in_channels/sample_size describe "
                                        + "\(shape.map(String.init).joined(separator: "x")) samples but --data "
                                        + "\(recipe.data) has \(dataset.sampleShape)"
                                        + (recipe.vae == nil ? "" : " as latents of --vae \(recipe.vae!)"))
        }
        classes = dataset.classNames?.count
        if let problem = net.classMismatch(classes: classes) {
            throw TweedieError.badInput("--model-config: \(problem) for --data \(recipe.data)")
        }
        self.recipe = recipe
        self.network = net
        self.dataset = dataset
        self.outDirectory = outDirectory
        names = net.parameterShapes.map(\.name)
        scheduler = ModelExport.scheduler(prediction: recipe.prediction, clipSample: latents == nil)
        objective = DiffusionObjective(scheduler: scheduler, prediction: recipe.prediction,
                                       labelDropout: classes == nil ? 0 : recipe.labelDropout, nullClass: classes,
                                       seed: recipe.seed)
        varianceBound = VarianceBoundLoss(alphasCumprod: objective.alphasCumprod)
        schedule = LearningRateSchedule(base: recipe.learningRate, warmupSteps: recipe.warmupSteps,
                                        totalSteps: recipe.steps, decay: recipe.lrDecay)

        let checkpoints = Trainer.join(outDirectory, "checkpoints")
        if resume, let path = TrainingCheckpoint.newest(in: checkpoints) {
            let (saved, savedRecipe) = try TrainingCheckpoint.read(path, names: names,
                                                                   shapes: net.parameterShapes.map(\.shape))
            let savedNet = try savedRecipe.network()
            guard savedNet.className == net.className,
                  savedNet.parameterShapes.elementsEqual(net.parameterShapes, by: { $0 == $1 }),
                  savedRecipe.data == recipe.data, savedRecipe.seed == recipe.seed else {
                throw TweedieError.badInput("--resume: \(path) was written by a run with another model, data or seed")
            }
            let savedVAE = try TrainingCheckpoint.metadata(path)[TrainingCheckpoint.vaeKey]
            guard savedVAE == latents?.fingerprint else {
                throw TweedieError.badInput("--resume: \(path) was written with "
                                            + (savedVAE.map { "the VAE whose files hash to \($0)" } ?? "no VAE")
                                            + (latents.map { ", --vae \($0.folder) hashes to \($0.fingerprint)" } ?? ", this run has none"))
            }
            state = saved
        } else {
            let params: [Tensor]
            if let folder = recipe.initFrom {
                params = try Trainer.weights(of: folder, for: net)
            } else {
                params = try net.initialParameters(seed: recipe.seed).map(\.1)
            }
            state = TrainingState(step: 0, dataPosition: 0, parameters: params, ema: params, emaUpdates: 0,
                                  optimizerState: [:], optimizerSteps: 0, elapsedSeconds: 0)
        }
        optimizer = AdamW(parameters: state.parameters, learningRate: recipe.learningRate,
                          weightDecay: recipe.weightDecay)
        if state.optimizerSteps > 0 { try optimizer.restore(state: state.optimizerState, stepCount: state.optimizerSteps) }
        ema = EMA(weights: state.ema, maxDecay: recipe.emaDecay, updates: state.emaUpdates)
        order = DataOrder(count: dataset.count, seed: recipe.seed &+ 0x6461_7461, position: state.dataPosition)
    }

    /// Parameters by diffusers name (current weights).
    public var parameters: [(String, Tensor)] { Array(zip(names, state.parameters)) }
    /// EMA weights by diffusers name.
    public var emaWeights: [(String, Tensor)] { Array(zip(names, ema.weights)) }

    /// One optimiser step on the next batch; returns (loss, gradient norm before clipping). Its phase times are
    /// left in `lastStepTiming`.
    @discardableResult
    public func step() throws -> (loss: Float, gradNorm: Float) {
        let t0 = StepTiming.now(), cpu0 = StepTiming.cpuNow()
        let indices = order.next(recipe.batch)
        let data = dataset.batch(indices)
        let batch = try objective.batch(images: data.images, labels: data.labels, step: state.step)
        let t1 = StepTiming.now()
        let tape = Tape()
        let leaves = state.parameters.map { tape.leaf($0, requiresGrad: true) }
        let table = Dictionary(uniqueKeysWithValues: zip(names, leaves))
        let out = try network.forward(tape, parameters: table, sample: tape.constant(batch.noisy),
                                      timesteps: batch.timesteps, classLabels: batch.labels)
        let channels = batch.target.shape[1]
        let loss: Variable
        if out.shape[1] == channels {
            loss = tape.mseLoss(out, tape.constant(batch.target))
        } else {
            let parts = tape.split(out, sizes: [channels, channels], axis: 1)
            let bound = varianceBound.loss(tape, variance: parts[1], meanPrediction: parts[0].value,
                                           prediction: recipe.prediction, x0: data.images, xt: batch.noisy,
                                           timesteps: batch.timesteps.map { Int($0) })
            loss = tape.add(tape.mseLoss(parts[0], tape.constant(batch.target)), bound)
        }
        let t2 = StepTiming.now()
        var grads = tape.gradients(of: loss, wrt: leaves)
        let t3 = StepTiming.now()
        let norm = recipe.gradClip > 0 ? clipGradientNorm(&grads, maxNorm: recipe.gradClip)
                                       : clipGradientNorm(&grads, maxNorm: .infinity)
        optimizer.learningRate = schedule.rate(at: state.step)
        optimizer.update(&state.parameters, gradients: grads)
        ema.update(state.parameters)
        state.step += 1
        state.dataPosition = order.position
        lastStepTiming = StepTiming(data: t1 - t0, forward: t2 - t1, backward: t3 - t2, optimizer: StepTiming.now() - t3,
                                    cpu: StepTiming.cpuNow() - cpu0)
        return (loss.value.data[0], norm)
    }

    /// The state with the optimiser and EMA buffers gathered (what a checkpoint stores).
    public func snapshot(elapsed: Double) -> TrainingState {
        var s = state
        s.ema = ema.weights
        s.emaUpdates = ema.updates
        s.optimizerSteps = optimizer.stepCount
        s.optimizerState = [:]
        for (kind, i, t) in optimizer.state { s.optimizerState[kind, default: [:]][i] = t }
        s.elapsedSeconds = elapsed
        return s
    }

    /// Runs until `recipe.steps` (or `stopAfter` more steps), logging, checkpointing, sampling and exporting.
    /// `shouldStop` is asked after every step (a signal handler's flag): when it says so, the run checkpoints the
    /// step it reached and returns true, so `--resume` continues exactly there.
    @discardableResult
    public func run(stopAfter: Int? = nil, shouldStop: () -> Bool = { false }) throws -> Bool {
        try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
        try recipe.jsonText.write(toFile: Trainer.join(outDirectory, "recipe.json"), atomically: true, encoding: .utf8)
        let lossLog = try LossLog(path: Trainer.join(outDirectory, "loss.csv"), keepThrough: state.step)
        // No `step + Int.max`: it wraps in an unchecked build and a resumed run would stop at once.
        let end = min(recipe.steps, stopAfter.map { state.step + max($0, 0) } ?? recipe.steps)
        log("train: \(network.className), \(network.parameterCount) parameters, data \(dataset.recipe), batch \(recipe.batch), "
            + "steps \(state.step)/\(recipe.steps), threads \(Runtime.threads)"
            + (recipe.gradientCheckpointing ? ", gradient checkpointing" : ""))
        let baseElapsed = state.elapsedSeconds
        let start = Date()
        var windowStart = Date(), windowLoss: Double = 0, windowSteps = 0
        stepTimings = []
        var checkpointed = state.step
        // Nothing has changed yet, so the newest checkpoint already holds this state.
        if shouldStop() { return true }
        while state.step < end {
            let (loss, norm) = try step()
            stepTimings.append(lastStepTiming)
            windowLoss += Double(loss)
            windowSteps += 1
            let elapsed = baseElapsed + Date().timeIntervalSince(start)
            if state.step % recipe.logEvery == 0 || state.step == end {
                let perStep = Date().timeIntervalSince(windowStart) / Double(windowSteps)
                let lr = schedule.rate(at: state.step - 1)
                lossLog.append(step: state.step, loss: Float(windowLoss / Double(windowSteps)), lr: lr, gradNorm: norm,
                               secondsPerStep: perStep, elapsed: elapsed)
                let eta = Double(recipe.steps - state.step) * perStep
                log(String(format: "step %d/%d  loss %.4f  lr %.2e  |g| %.3f  %.2f s/it  elapsed %@  eta %@",
                           state.step, recipe.steps, windowLoss / Double(windowSteps), lr, norm, perStep,
                           Trainer.duration(elapsed), Trainer.duration(eta)))
                windowStart = Date(); windowLoss = 0; windowSteps = 0
            }
            if state.step % recipe.checkpointEvery == 0 || state.step == end {
                try saveCheckpoint(elapsed: baseElapsed + Date().timeIntervalSince(start))
                checkpointed = state.step
            }
            if recipe.sampleEvery > 0 && state.step % recipe.sampleEvery == 0 || state.step == recipe.steps {
                try writeSamples()
            }
            if state.step < end && shouldStop() {
                if checkpointed != state.step { try saveCheckpoint(elapsed: baseElapsed + Date().timeIntervalSince(start)) }
                return true
            }
        }
        return false
    }

    /// Writes a checkpoint and refreshes the diffusers folder `out/model` from the EMA weights.
    public func saveCheckpoint(elapsed: Double) throws {
        let path = try TrainingCheckpoint.write(snapshot(elapsed: elapsed), names: names, recipe: recipe,
                                                directory: Trainer.join(outDirectory, "checkpoints"),
                                                keep: recipe.keepCheckpoints,
                                                metadata: latents.map { [TrainingCheckpoint.vaeKey: $0.fingerprint] } ?? [:])
        let learnedSigma = network.outChannels != dataset.sampleShape[0]
        if let latents {
            try PipelineExport.write(directory: Trainer.join(outDirectory, "model"), className: network.className,
                                     modelConfigJSON: recipe.modelConfigJSON, weights: emaWeights,
                                     prediction: recipe.prediction, learnedSigma: learnedSigma,
                                     classNames: dataset.classNames, vaeFolder: latents.folder)
        } else {
            try ModelExport.write(directory: Trainer.join(outDirectory, "model"), className: network.className,
                                  modelConfigJSON: recipe.modelConfigJSON, weights: emaWeights,
                                  prediction: recipe.prediction, learnedSigma: learnedSigma,
                                  classNames: dataset.classNames)
        }
        log("checkpoint: \(path)")
    }

    /// Renders the EMA sample grid of the current step to `out/samples/step-XXXXXXXX.png` (with a renderer).
    public func writeSamples() throws {
        guard let renderer = sampleRenderer else { return }
        let started = Date()
        let grid = try renderer.render(model: network.inferenceModel(weights: emaWeights), scheduler: scheduler,
                                       classes: classes, settings: recipe.sampleGridSettings,
                                       decode: latents.map { l in { try l.decode($0) } })
        let dir = Trainer.join(outDirectory, "samples")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = Trainer.join(dir, String(format: "step-%08d.png", state.step))
        try grid.write(to: path, text: [("Software", "tweedie train"), ("Step", String(state.step))])
        log(String(format: "samples: %@ (%.1f s)", path, Date().timeIntervalSince(started)))
        let losses = LossLog.read(Trainer.join(outDirectory, "loss.csv"))
        if losses.count >= 2 { try LossPlot.render(losses).write(to: Trainer.join(outDirectory, "loss.png")) }
    }

    /// The weights of a diffusers folder in `net`'s parameter order; every tensor must be there with its shape.
    /// A pipeline folder (model_index.json) gives the network in its transformer/ or unet/.
    static func weights(of folder: String, for net: DifferentiableDiffusionNetwork) throws -> [Tensor] {
        var network = folder
        if FileManager.default.fileExists(atPath: join(folder, "model_index.json")) {
            let sub = join(folder, PipelineExport.networkFolderName(net.className))
            guard FileManager.default.fileExists(atPath: sub) else {
                throw TweedieError.badInput("--init-from \(folder): a pipeline folder without \(sub)")
            }
            network = sub
        }
        let file = try SafeTensorsFile(path: join(network, ModelFolder.weightsFile))
        try net.validate(Dictionary(uniqueKeysWithValues: file.names.compactMap { n in file.info(n).map { (n, $0.shape) } }),
                         source: file.path)
        return try net.parameterShapes.map { try file.tensor($0.name) }
    }

    static func join(_ a: String, _ b: String) -> String { (a as NSString).appendingPathComponent(b) }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
