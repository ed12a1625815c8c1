import ArgumentParser
import Foundation
import Tweedie
#if canImport(Glibc)
import Glibc
#endif

/// `tweedie finetune`: reward backpropagation (AlignProp) into a LoRA of a pixel-space model, resumable.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a LoRA by reward backpropagation (AlignProp): guided DDIM on the tape, the reward of the "
            + "final images, gradients back through the last sampling steps into the LoRA factors.",
        discussion: """
            One update averages --accumulate micro-batches of --batch trajectories. Trajectory i of the run starts \
            from the noise and class `generate --sampler ddim --seed S --start-index i` uses. OUT receives log.csv \
            (per update: loss, reward, grad_norm, lr, wall and CPU seconds, peak RSS), checkpoints/, settings.json and \
            lora.safetensors (diffusers' LoRA layout; `generate --lora OUT/lora.safetensors`). Ctrl-C or SIGTERM \
            finishes the update in flight, checkpoints it and exits 130/143; --resume continues bit for bit.
            """)

    @Option(name: [.short, .customLong("model")], help: "Pixel-space model folder (default: the bundled assets/fashion32).")
    var model: String?
    @Option(help: ArgumentHelp("Reward: \(RewardRegistry.summary).", valueName: "name"))
    var reward: String?
    @Option(help: "TweedieClassifier folder of classifier:N (default: the bundled assets/classifier32/shape).")
    var judge: String?
    @Option(help: "Optimiser updates of the whole run (default 100).")
    var steps: Int?
    @Option(name: .customLong("lora-rank"), help: "LoRA rank r (default 4).")
    var loraRank: Int?
    @Option(name: .customLong("lora-alpha"), help: "peft's lora_alpha; the update is scaled by alpha / r (default: r).")
    var loraAlpha: Float?
    @Option(name: .customLong("lora-targets"), help: "Layers with LoRA: \(LoRATargets.names) (default attention: to_q, to_k, to_v, to_out.0).")
    var loraTargets: String?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (default 1e-4).")
    var weightDecay: Float?
    @Option(name: .customLong("grad-clip"), help: "Global gradient-norm clip (default 1).")
    var gradClip: Float?
    @Option(help: "Micro-batches per update (default 2); --batch is the trajectories of one micro-batch (default 4).")
    var accumulate: Int?
    @Option(help: "Steps with gradients: last:K, full, gaussian:MEAN,STD (the leading steps without gradients, drawn per trajectory) or per-step (default last:1).")
    var truncation: String?
    @Option(name: .customLong("cfg-scale"), help: "Classifier-free guidance scale w (default 3; 1: conditional only).")
    var cfgScale: Float?
    @Option(name: .customLong("sampling-steps"), help: "DDIM steps of each trajectory (default 20).")
    var samplingSteps: Int?
    @Option(name: .customLong("class"), help: "Class of every trajectory (default: cycle through the classes, as generate).")
    var classID: Int?
    @Flag(name: .customLong("no-gradient-checkpointing"), help: "Keep every step's activations instead of recomputing them in the backward pass (more memory, same gradients).")
    var noGradientCheckpointing = false
    @Option(help: "Output folder (log.csv, checkpoints/, settings.json, lora.safetensors).")
    var out: String
    @Flag(help: "Continue from the newest checkpoint in OUT (its settings, unless flags override).")
    var resume = false
    @Option(help: "Progress on stderr: auto (a redrawn line on a terminal, else one line per update), bar, plain or none.")
    var progress: String = "auto"
    @Flag(help: "At the end print one JSON object: steps, first and last reward, median seconds and CPU seconds per update, peak RSS, the LoRA file.")
    var json = false
    @OptionGroup var optimiser: OptimiserOptions
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        guard let mode = GenerateProgress.Mode(rawValue: progress) else {
            throw TweedieError.badInput("--progress \(progress) is unknown; valid: "
                                        + GenerateProgress.Mode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        GenerateInterrupt.install()
        let checkpoints = (out as NSString).appendingPathComponent("checkpoints")
        let newest = TuningCheckpoint.newest(in: checkpoints)
        if newest != nil && !resume {
            throw TweedieError.badInput("--out \(out) holds a fine-tune (\(checkpoints)); add --resume or choose another folder")
        }
        var s = try newest.map { try AlignPropTrainer.settings(inCheckpoint: $0) } ?? AlignPropSettings()
        try apply(to: &s)
        try s.validate()
        let pipeline = try SamplingPipeline(path: s.model)
        guard pipeline.vae == nil else {
            throw TweedieError.badInput("-m \(s.model): a latent pipeline; finetune scores the network's own samples, "
                                        + "so it needs a pixel-space model")
        }
        let rewardFunction = try RewardRegistry.make(s.reward, context: RewardContext(judgeFolder: s.judge))
        if let c = s.classID, !(pipeline.classes.isConditional && pipeline.classes.isValid(c)) {
            throw TweedieError.badInput("--class \(c) is not a class of \(pipeline.source.name)")
        }
        let classes = pipeline.classes
        let trainer = try AlignPropTrainer(
            model: pipeline.network, className: pipeline.networkClassName, scheduler: pipeline.scheduler,
            reward: rewardFunction, settings: s, nullClass: classes.nullClass,
            classOf: { classes.isConditional ? classes.defaultClass(forImage: $0) : nil },
            outDirectory: out, resume: resume,
            info: ["base_model": pipeline.source.name, "base_weights_sha256": try pipeline.weightsHash()])
        let bar = FinetuneProgress(mode: mode, total: s.steps)
        bar.note("finetune: \(pipeline.source.name), reward \(rewardFunction.name), LoRA r \(s.loraRank) alpha "
                 + "\(s.alpha) on \(trainer.loop.state.parameters.count) parameters (\(s.loraTargets.rawValue)), "
                 + "truncation \(s.truncation), \(s.samplingSteps) DDIM steps, CFG \(s.cfgScale), batch \(s.batch) x "
                 + "\(s.accumulate), update \(trainer.loop.state.step)/\(s.steps), threads \(Runtime.threads)")
        var updates: [TuningUpdate] = []
        trainer.loop.onUpdate = { u in
            updates.append(u)
            bar.update(u)
        }
        // The progress shows every update; of the loop's own lines only the checkpoints are worth a line.
        trainer.loop.log = { line in if line.hasPrefix("checkpoint") { bar.note(line) } }
        let stopped = try trainer.run(stopAfter: optimiser.stopAfter, shouldStop: { GenerateInterrupt.requested })
        bar.finish()
        if stopped {
            let saved = TuningCheckpoint.newest(in: checkpoints).map { "; checkpoint \($0)" } ?? ""
            fputs("tweedie: interrupted at update \(trainer.loop.state.step)/\(s.steps)\(saved); continue with --resume\n",
                  stderr)
            throw ExitCode(GenerateInterrupt.signalExitCode)
        }
        if json { print(summary(trainer, updates: updates)) }
    }

    /// Every flag given, over the defaults or a resumed run's settings.
    private func apply(to s: inout AlignPropSettings) throws {
        try optimiser.apply(to: &s)
        if let model { s.model = absolute(model) }
        if s.model.isEmpty {
            guard let bundled = BundledModel.defaultPath() else {
                throw TweedieError.badInput("-m/--model: no model folder given and the bundled assets/fashion32 was not found")
            }
            s.model = bundled
        }
        if let reward { s.reward = reward }
        if let judge { s.judge = absolute(judge) }
        if s.judge == nil, s.reward.hasPrefix("classifier") { s.judge = BundledModel.find(BundledModel.judgePath) }
        if let steps { s.steps = steps }
        if let loraRank { s.loraRank = loraRank }
        if let loraAlpha { s.loraAlpha = loraAlpha }
        if let loraTargets { s.loraTargets = try LoRATargets(parsing: loraTargets) }
        if let weightDecay { s.weightDecay = weightDecay }
        if let gradClip { s.gradClip = gradClip }
        if let accumulate { s.accumulate = accumulate }
        if let truncation { s.truncation = try Truncation(parsing: truncation) }
        if let cfgScale { s.cfgScale = cfgScale }
        if let samplingSteps { s.samplingSteps = samplingSteps }
        if let classID { s.classID = classID }
        if noGradientCheckpointing { s.gradientCheckpointing = false }
    }

    private func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path
            : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (full as NSString).standardizingPath
    }

    /// One JSON line about this session's updates.
    private func summary(_ t: AlignPropTrainer, updates: [TuningUpdate]) -> String {
        let rows = TuningLog.read(t.loop.logPath)
        func reward(_ row: [String: Double]?) -> JSONOutput { row?["reward"].map { .number($0, decimals: 6) } ?? .null }
        return JSONOutput.object([
            "steps": .int(t.loop.state.step),
            "reward_first": reward(rows.first), "reward_last": reward(rows.last),
            "median_update_seconds": .number(StepTimingReport.median(updates.map(\.seconds)), decimals: 3),
            "median_update_cpu_seconds": .number(StepTimingReport.median(updates.map(\.cpuSeconds)), decimals: 3),
            "peak_rss_mb": .number(PeakMemory.megabytes, decimals: 1),
            "lora_parameters": .int(t.loop.state.parameters.count),
            "gradient_checkpointing": .bool(t.settings.gradientCheckpointing),
            "lora": .string(t.adapterPath),
        ]).text
    }
}
