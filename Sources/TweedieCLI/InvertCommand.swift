import ArgumentParser
import Foundation
import Tweedie

/// `tweedie invert`: textual inversion for a class-conditional model: a new class row learned from a few images.
struct InvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invert",
        abstract: "Learn a new class-embedding row (a concept) from 3-8 images, the rest of the model frozen.",
        discussion: """
            --method zo is ZOODiP (Seo et al., CVPR 2025): forward differences along n directions regenerated from a \
            counter-based generator (μ 1e-3), all n + 1 forward passes on the same images, timesteps and noise; \
            Adam with ε 1e-3; the subspace gradient (τ snapshots of the row, PCA in the row's raw coordinates, \
            components past the 1 - ν variance share removed from later estimates); PUTS timesteps (the band with \
            Stable Diffusion's t 500-899 noise levels, t 354-646 on the bundled schedule). It runs on an int8 model \
            (`tweedie quantize`) with no backward pass. --method backprop is the Float32 baseline (the exact \
            gradient through the network to the row). The embedding is written when the run ends; \
            `tweedie generate --embedding FILE` samples the concept. Ctrl-C checkpoints into --run-dir (if given) \
            and exits 130 without writing --out.
            """)

    @Option(name: [.short, .customLong("model")], help: "Class-conditional model folder (UNet2DModel or DiT; int8 or Float32).")
    var model: String
    @Option(help: "Folder of the concept's reference images (PNG, the model's size).")
    var images: String
    @Option(help: "zo (ZOODiP, forward passes only) or backprop (Float32 baseline).")
    var method: String = "zo"
    @Option(help: "Optimiser updates.")
    var steps: Int = 200
    @Option(help: "Output embedding file (safetensors).")
    var out: String
    @Option(help: "The concept's name (its class label in generate; default: the images folder's name).")
    var label: String?
    @Option(help: "Reference images per update.")
    var batch: Int = 4
    @Option(help: "Adam's learning rate (default 0.3 for zo, 1e-2 for backprop: ZO-Adam's ε 1e-3 exceeds the estimate's entries here, so its steps scale with lr/ε and need the larger rate; see bench/invert).")
    var lr: Float?
    @Option(name: .customLong("adam-eps"), help: "Adam's ε (default 1e-3 for zo, as ZOODiP's ZO-Adam; 1e-8 for backprop).")
    var adamEps: Float?
    @Option(help: "Seed of the images, timesteps, noise and directions drawn.")
    var seed: UInt64 = 0
    @Option(help: "zo: directions n per estimate (n + 1 forward passes per update).")
    var directions: Int = 2
    @Option(help: "zo: perturbation size μ.")
    var mu: Float = 1e-3
    @Flag(name: .customLong("no-subspace"), help: "zo: no subspace gradient.")
    var noSubspace = false
    @Option(help: "zo: snapshots per subspace PCA (τ).")
    var tau: Int = 32
    @Option(help: "zo: variance share treated as noise (ν): 1e-3 (ZOODiP's script) or 0.99 (its argparse default).")
    var nu: Double = 1e-3
    @Flag(name: .customLong("no-puts"), help: "Timesteps from the whole schedule instead of PUTS's band.")
    var noPuts = false
    @Option(name: .customLong("init-class"), help: "Start from this class's row (default: the mean of the real classes' rows).")
    var initClass: Int?
    @Option(name: .customLong("run-dir"), help: "Keep log.csv and checkpoints here (default: a temporary folder, removed).")
    var runDir: String?
    @Flag(help: "Continue the run in --run-dir from its newest checkpoint.")
    var resume = false
    @Flag(help: "Print one JSON object with the run's figures (loss, passes, seconds, peak RSS).")
    var json = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        guard let m = InversionSettings.Method(rawValue: method) else {
            throw TweedieError.badInput("--method \(method) is unknown; valid: "
                                        + InversionSettings.Method.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if resume && runDir == nil { throw TweedieError.badInput("--resume needs --run-dir (the folder of the run)") }
        var s = InversionSettings()
        s.method = m
        s.steps = steps
        s.batch = batch
        s.learningRate = lr ?? (m == .zo ? 0.3 : 1e-2)
        s.adamEpsilon = adamEps
        s.seed = seed
        s.directions = directions
        s.mu = mu
        s.subspace = !noSubspace
        s.tau = tau
        s.nu = nu
        s.puts = !noPuts
        s.initClass = initClass
        s.label = label ?? (((images as NSString).standardizingPath as NSString).lastPathComponent)
        try s.validate()
        let outParent = URL(fileURLWithPath: out).standardizedFileURL.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outParent, isDirectory: &isDir), isDir.boolValue else {
            throw TweedieError.badInput("--out \(out): the folder \(outParent) does not exist")
        }

        let source = try ModelSource(path: model)
        try ResourceLimits.checkModelConfig(folder: source.networkFolder)
        let loaded = try ModelFolder.load(source.networkFolder)
        guard let net = loaded as? ClassEmbeddingTables, !net.classEmbeddingTables.isEmpty else {
            throw TweedieError.badInput("-m \(model): \(loaded.className) has no class-embedding table (a "
                                        + "class-conditional UNet2DModel or DiT is needed)")
        }
        let refs = try ConceptImages.load(folder: images, shape: net.sampleShape)
        let scheduler = try source.schedulerConfigPath.map { try SchedulerConfig(path: $0) } ?? SchedulerConfig()
        let int8 = loaded.weights.providers.values.contains { $0 is Int8Weights }

        let temporary = runDir == nil
        let directory = runDir ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("tweedie-invert-\(getpid())")
        defer { if temporary { try? FileManager.default.removeItem(atPath: directory) } }
        let info = ["model": source.name, "model_weights_sha256": try SHA256.hex(fileAt: source.weightsPath),
                    "weights": int8 ? "int8" : "float32", "images": String(refs.shape[0])]
        let run = try TextualInversion(model: net, scheduler: scheduler, images: refs, settings: s,
                                       runDirectory: directory, resume: resume, info: info)
        if !json { run.loop.log = { fputs("invert: \($0)\n", stderr) } }
        GenerateInterrupt.install()
        let started = run.loop.state.step
        let wall = Date()
        if try run.run(shouldStop: { GenerateInterrupt.requested }) {
            fputs("tweedie: interrupted after update \(run.loop.state.step)/\(s.steps); --out not written"
                  + (temporary ? "" : " (resume with --run-dir \(directory) --resume)") + "\n", stderr)
            throw ExitCode(GenerateInterrupt.signalExitCode)
        }
        try run.embedding().write(to: out)
        let seconds = Date().timeIntervalSince(wall), updates = run.loop.state.step - started
        let forward = run.problem.forwardPasses
        if json {
            let final = (try? run.problem.loss(run.loop.state.parameters.values.flatMap(\.data), try run.problem.draw(step: 0)))
            print(JSONOutput.object([
                "out": .string(out), "label": .string(s.label), "class_id": .int(run.conceptID),
                "method": .string(m.rawValue), "weights": .string(int8 ? "int8" : "float32"),
                "steps": .int(run.loop.state.step), "updates_this_session": .int(updates),
                "forward_passes": .int(forward),
                "forward_passes_per_step": .number(Double(forward) / Double(max(1, updates)), decimals: 3),
                "backward_passes_per_step": .int(m == .backprop ? 1 : 0),
                "dimension": .int(run.problem.dimension),
                "effective_dimension": .int(run.subspace?.effectiveDimension ?? run.problem.dimension),
                "timestep_band": .ints([run.problem.band.lowerBound, run.problem.band.upperBound]),
                "seconds": .number(seconds, decimals: 3), "cpu_seconds": .number(run.loop.state.cpuSeconds, decimals: 3),
                "seconds_per_step": .number(seconds / Double(max(1, updates)), decimals: 4),
                "loss_step0_draw": final.map { .number($0, decimals: 6) } ?? .null,
                "peak_rss_mb": .number(PeakMemory.megabytes, decimals: 1),
            ]).text)
        } else {
            print("\(out): concept '\(s.label)' (class \(run.conceptID) when applied to \(source.name)), "
                  + "\(m.rawValue) on \(int8 ? "int8" : "Float32") weights, \(run.loop.state.step) updates, "
                  + "\(s.passesPerStep) pass(es) per update, "
                  + String(format: "%.1f s, peak RSS %.0f MB", seconds, PeakMemory.megabytes))
        }
    }
}
