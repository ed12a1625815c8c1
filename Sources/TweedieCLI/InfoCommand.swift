import ArgumentParser
import Foundation
import Tweedie

/// `tweedie info`: what a model folder holds, or (with --system) what the engine runs on.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Describe a model folder, a generated PNG's stored parameters, or the system with --system.")

    @Argument(help: "A model folder (diffusers model or TweedieClassifier), a PNG written by `tweedie generate`, or a LoRA file (.safetensors).")
    var path: String?
    @Flag(help: "Print the CPU, threads, CPU flags and the OpenBLAS kernel in use.")
    var system = false
    @Flag(help: "Print only the OpenBLAS kernel this binary computes with, after its core guard (for OPENBLAS_CORETYPE in scripts that must use the CLI's kernel).")
    var openblasCore = false

    func run() throws {
        if openblasCore { return print(SystemInfo.openBLASCore) }
        if system || path == nil {
            let wanted: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
                                       "avx512_vnni", "amx_tile", "f16c"]
            print("cpu: \(SystemInfo.cpuModel)")
            print("threads: \(Runtime.threads)")
            print("cpu flags: \(SystemInfo.cpuFlags.filter { wanted.contains($0) }.joined(separator: " "))")
            print("openblas core: \(SystemInfo.openBLASCore)")
            print("openblas config: \(SystemInfo.openBLASConfig)")
            print("convolution: \(ConvolutionBackend.label)")
            if path == nil { return }
        }
        guard let path else { return }
        if path.lowercased().hasSuffix(".png") {
            print(try ImageMetadata.describe(pngAt: path), terminator: "")  // ends with its own newline
            return
        }
        if path.lowercased().hasSuffix(".safetensors") { return try describeLoRA(path) }
        // Every kind loads through the registry; what is printed beyond the common facts depends on what the model
        // can do, not on its kind.
        // A pipeline folder (model_index.json) is described by its denoising network.
        let source = try? ModelSource(path: path)
        let folder = source?.layout == .pipeline ? source!.networkFolder : path
        try ResourceLimits.checkModelConfig(folder: folder)
        let loaded = try ModelFolder.load(folder)
        print("type: \(loaded.className)")
        print("parameters: \(loaded.parameterCount)")
        print("tensors: \(loaded.tensorCount)")
        print("dtypes: " + Self.dtypeLine(loaded.dtypes))
        let int8 = loaded.weights.denseLayers.compactMap { loaded.weights.providers[$0] as? Int8Weights }
        if !int8.isEmpty {
            let bytes = int8.reduce(0) { $0 + $1.byteCount }, elements = int8.reduce(0) { $0 + $1.values.count }
            print("quantization: int8 weight-only, per output channel, \(int8.count) of "
                  + "\(loaded.weights.denseLayers.count) linear/convolution layers ("
                  + String(format: "%.2f MB with scales; %.2f MB as Float32)", Double(bytes) / 1_048_576,
                           Double(4 * elements) / 1_048_576))
        }
        if let judge = loaded as? TweedieClassifier {
            print("classes: \(judge.config.classNames.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", "))")
        }
        if let net = loaded as? DiffusionModel, let source { try describeSampling(net, source: source) }
        print("config: \(loaded.configJSON)", terminator: loaded.configJSON.hasSuffix("\n") ? "" : "\n")
    }

    /// What `generate` samples with: the classes and their names, the null class guidance feeds, the scheduler.
    private func describeSampling(_ net: DiffusionModel, source: ModelSource) throws {
        let classes = try SamplingPipeline.classSpace(net.classConditioning, source: source)
        if !classes.isConditional {
            print("classes: none (unconditional)")
        } else if classes.tableSize == Int.max {
            print("classes: any id >= 0 (timestep-style class embedding)")
        } else {
            let ids = (0..<classes.tableSize).filter { classes.isValid($0) }
            let named = ids.prefix(20).map { id in classes.name(of: id).map { "\(id) \($0)" } ?? "\(id)" }
            print("classes: \(ids.count) (" + named.joined(separator: ", ") + (ids.count > 20 ? ", ..." : "") + ")")
        }
        print("null class: " + (classes.nullClass.map { "\($0) (classifier-free guidance)" } ?? "none (no guidance)"))
        guard let schedulerPath = source.schedulerConfigPath else {
            return print("scheduler: none in the folder (diffusers' DDPMScheduler defaults)")
        }
        let s = try SchedulerConfig(path: schedulerPath)
        let betas = s.trainedBetas != nil ? "trained betas"
            : "\(s.betaSchedule.rawValue) betas \(s.betaStart)...\(s.betaEnd)"
        print("scheduler: \(s.className ?? "DDPMScheduler"), \(s.numTrainTimesteps) train timesteps, \(betas), "
              + "\(s.predictionType.rawValue) prediction, \(s.timestepSpacing.rawValue) spacing, "
              + "clip_sample \(s.clipSample) (\(schedulerPath))")
    }

    /// A LoRA file: its layers, rank and alpha, and what the run that trained it recorded.
    private func describeLoRA(_ path: String) throws {
        let adapter = try LoRAAdapterFile.read(path)
        print("type: LoRA adapter (diffusers/peft layout: <layer>.lora_A.weight, <layer>.lora_B.weight)")
        print("model class: \(adapter.className ?? "not recorded")")
        let ranks = Set(adapter.layers.map(\.rank)).sorted(), alphas = Set(adapter.layers.map(\.alpha)).sorted()
        print("rank: " + ranks.map(String.init).joined(separator: ", ")
              + "; alpha: " + alphas.map { GuiderParameter.text($0) }.joined(separator: ", "))
        print("parameters: \(adapter.parameterCount)")
        let names = adapter.layers.map(\.prefix)
        print("layers: \(names.count) (" + names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", ..." : "") + ")")
        for (key, value) in adapter.info.sorted(by: { $0.key < $1.key }) { print("\(key.replacingOccurrences(of: "_", with: " ")): \(value)") }
    }

    private static func dtypeLine(_ dtypes: [String: Int]) -> String {
        dtypes.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
    }
}
