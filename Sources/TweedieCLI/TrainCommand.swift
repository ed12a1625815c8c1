import ArgumentParser
import Foundation
import Tweedie
import TweedieTraining

/// `tweedie train`: DDPM training of a UNet2DModel or a DiT on a built-in data set, with resumable checkpoints.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a UNet2DModel or DiTTransformer2DModel (DDPM objective), or an AutoencoderKL (L1 + KL; a "
            + "recipe whose model is one), on a built-in data set; writes checkpoints, a loss log, sample grids and a "
            + "diffusers folder under --out.")

    @Option(help: ArgumentHelp("Recipe JSON (keys: data, model_config or model, steps, batch, lr, warmup, lr_decay, "
            + "weight_decay, grad_clip, ema_decay, label_dropout, prediction, seed, checkpoint_every, sample_every, "
            + "log_every, gradient_checkpointing, init_from, vae, sampler, sample_steps, guidance, samples_per_class); flags "
            + "override it."))
    var recipe: String?
    @Option(help: "Data set: fashion32 (colourised Fashion-MNIST, 10 classes) | phantom64 (ellipses + Colin27 slices) | ellipses64.")
    var data: String?
    @Option(name: .customLong("model-config"),
            help: "config.json of the network to train; its _class_name picks UNet2DModel or DiTTransformer2DModel.")
    var modelConfig: String?
    @Option(help: "Total optimiser steps.")
    var steps: Int?
    @Option(name: .customLong("lr-decay"), help: "After warm-up: cosine | constant.")
    var lrDecay: String?
    @Option(help: "Output folder (checkpoints/, samples/, model/, loss.csv).")
    var out: String
    @Flag(help: "Continue from the newest checkpoint in OUT/checkpoints (its recipe, unless flags override).")
    var resume = false
    @Option(name: .customLong("sample-every"), help: "Steps between sample grids (0: at the end only).")
    var sampleEvery: Int?
    @Option(name: .customLong("label-dropout"), help: "Probability of training a sample with the null class.")
    var labelDropout: Float?
    @Option(help: "Prediction target: epsilon | v.")
    var prediction: String?
    @Flag(name: .customLong("gradient-checkpointing"), help: "Recompute layers in the backward pass (less memory).")
    var gradientCheckpointing = false
    @Option(name: .customLong("init-from"),
            help: "Start from the weights of this diffusers folder or exported pipeline folder (same architecture).")
    var initFrom: String?
    @Option(help: ArgumentHelp("Train on latents: an AutoencoderKL folder whose encoder maps --data to the network's "
            + "input (posterior means x scaling_factor); the export is then a diffusers pipeline folder."))
    var vae: String?
    @Flag(help: "Do not train: draw OUT/loss.png from OUT/loss.csv and print the newest checkpoint's progress.")
    var summary = false
    @Flag(help: ArgumentHelp("Progress to stderr; at the end print one JSON object of this session's step times "
            + "(median_ms, compute_median_ms, cpu_median_ms, samples_per_s, peak_rss_mb, phase medians, per-step times_ms, "
            + "cpu_ms and phase_ms)."))
    var json = false
    @OptionGroup var optimiser: OptimiserOptions
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        if summary { return try printSummary() }
        // SIGINT/SIGTERM: finish the current step, checkpoint it, exit 130/143 (as generate does).
        GenerateInterrupt.install()
        if let autoencoder = try autoencoderRecipe() { return try runAutoencoder(autoencoder) }
        var r = TrainingRecipe()
        let checkpoints = (out as NSString).appendingPathComponent("checkpoints")
        if resume, let newest = TrainingCheckpoint.newest(in: checkpoints) {
            let file = try SafeTensorsFile(path: newest)
            guard let text = file.metadata["recipe"],
                  let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw TweedieError.badInput("\(newest): checkpoint has no recipe")
            }
            r = try TrainingRecipe(json: object, source: newest, baseDirectory: "/")
        } else if let recipe {
            r = try TrainingRecipe(path: recipe)
        }
        if let data { r.data = data }
        if let modelConfig { r.modelConfigJSON = try TrainingRecipe.readConfigText(modelConfig) }
        if let steps { r.steps = steps }
        try optimiser.apply(to: &r)
        if let d = try decay() { r.lrDecay = d }
        if let sampleEvery { r.sampleEvery = sampleEvery }
        if let labelDropout { r.labelDropout = labelDropout }
        if let prediction { r.prediction = try TrainingRecipe.prediction(prediction, flag: "--prediction") }
        if gradientCheckpointing { r.gradientCheckpointing = true }
        if let initFrom { r.initFrom = initFrom }
        if let vae {
            let cwd = FileManager.default.currentDirectoryPath
            r.vae = ((vae.hasPrefix("/") ? vae : (cwd as NSString).appendingPathComponent(vae)) as NSString).standardizingPath
        }
        try r.validate()
        let dataset = try TrainingData.named(r.data)
        let trainer = try Trainer(recipe: r, dataset: dataset, outDirectory: out, resume: resume, samples: SampleGrid())
        if json { trainer.log = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } }
        if try trainer.run(stopAfter: optimiser.stopAfter, shouldStop: { GenerateInterrupt.requested }) {
            let saved = TrainingCheckpoint.newest(in: checkpoints).map { "; checkpoint \($0)" } ?? ""
            fputs("tweedie: interrupted at step \(trainer.state.step)/\(r.steps)\(saved); continue with --resume\n", stderr)
            throw ExitCode(GenerateInterrupt.signalExitCode)
        }
        trainer.log(String(format: "done: step %d, peak RSS %.1f MB", trainer.state.step, PeakMemory.megabytes))
        if json {
            let report = StepTimingReport(timings: trainer.stepTimings, batch: r.batch, fields: [
                ("peak_rss_mb", .number(PeakMemory.megabytes, decimals: 1)),
                ("step", .int(trainer.state.step)),
                ("threads", .int(Runtime.threads)),
                ("parameters", .int(trainer.network.parameterCount)),
                ("gradient_checkpointing", .bool(r.gradientCheckpointing)),
            ])
            print(report.json)
        }
    }

    /// Step, wall time and loss of the run in OUT, for model cards.
    private func printSummary() throws {
        let checkpoints = (out as NSString).appendingPathComponent("checkpoints")
        guard let newest = TrainingCheckpoint.newest(in: checkpoints) else {
            throw TweedieError.badInput("--out \(out): no checkpoint in \(checkpoints)")
        }
        let meta = try SafeTensorsFile(path: newest).metadata
        let losses = LossLog.read((out as NSString).appendingPathComponent("loss.csv"))
        let plot = (out as NSString).appendingPathComponent("loss.png")
        try LossPlot.render(losses).write(to: plot)
        let tail = losses.suffix(20).map(\.loss)
        let mean = tail.isEmpty ? Float.nan : tail.reduce(0, +) / Float(tail.count)
        let hours = (Double(meta["elapsed_seconds"] ?? "0") ?? 0) / 3600
        print("checkpoint: \(newest)")
        print(String(format: "step %@, training wall time %.2f h, mean loss of the last %d log rows %.4f",
                     meta["step"] ?? "?", hours, tail.count, mean))
        print("loss plot: \(plot)")
    }
}
