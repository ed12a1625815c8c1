import ArgumentParser
import Tweedie

/// `tweedie forward`: one raw network call on tensors from a safetensors file; the engine's parity hook.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run one raw model call: IN holds sample, timestep, optional class_labels; OUT holds sample.")

    @Option(name: .long, help: "Model folder (config.json + diffusion_pytorch_model.safetensors).")
    var model: String
    @Option(name: .long, help: "Input safetensors file.")
    var input: String
    @Option(name: .long, help: "Output safetensors file.")
    var output: String
    @Flag(help: "AutoencoderKL: decode the latent in `sample` to an image.")
    var decode = false
    @Flag(help: "AutoencoderKL: encode the image in `sample` to the latent mean.")
    var encode = false
    @Option(help: ArgumentHelp("Merge a LoRA file (diffusers' layout) into the network at SCALE (default 1); repeatable.",
                               valueName: "file[:scale]"))
    var lora: [String] = []
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        if decode && encode { throw TweedieError.badInput("--decode and --encode: choose one") }
        let loras = try lora.map { try LoRASpec(parsing: $0) }
        let inputs = try SafeTensorsFile(path: input)
        guard inputs.info("sample") != nil else {
            throw TweedieError.badInput("\(input): missing tensor 'sample'")
        }
        let sample = try inputs.tensor("sample")
        try ResourceLimits.checkModelConfig(folder: model)
        let loaded = try ModelFolder.load(model)
        let result: Tensor
        if let vae = loaded as? LatentAutoencoder {
            guard decode || encode else {
                throw TweedieError.badInput("\(model): an AutoencoderKL folder needs --decode or --encode")
            }
            if !loras.isEmpty { throw TweedieError.badInput("--lora: \(model) is an AutoencoderKL, not a denoiser") }
            result = decode ? try vae.decode(sample) : try vae.encode(sample)
        } else if let m = loaded.diffusionModel {
            if decode || encode {
                throw TweedieError.badInput("--\(decode ? "decode" : "encode"): \(model) is not an AutoencoderKL")
            }
            let n = sample.shape.first ?? 0
            guard sample.rank == 4 else {
                throw TweedieError.badInput("\(input): tensor 'sample' must be NCHW, got shape \(sample.shape)")
            }
            for spec in loras { try spec.merge(into: m.weights, className: loaded.className) }
            let timesteps = try readTimesteps(inputs, batch: n)
            var labels: [Int]? = nil
            if inputs.info("class_labels") != nil {
                labels = try inputs.int64s("class_labels").map { Int($0) }
                if labels!.count == 1 && n > 1 { labels = Array(repeating: labels![0], count: n) }
                guard labels!.count == n else {
                    throw TweedieError.badInput("\(input): tensor 'class_labels' has \(labels!.count) entries for batch \(n)")
                }
            }
            result = try m.forward(sample, timesteps: timesteps, classLabels: labels)
        } else {
            throw TweedieError.badInput("\(model): \(loaded.className) has no forward call (not a denoiser or an "
                                        + "autoencoder)")
        }
        try SafeTensorsWriter.write([("sample", result)], to: output)
    }

    /// `timestep` may be F32 or I64, a scalar or [N]; a scalar is broadcast to the batch.
    private func readTimesteps(_ file: SafeTensorsFile, batch n: Int) throws -> [Float] {
        guard let info = file.info("timestep") else { throw TweedieError.badInput("\(input): missing tensor 'timestep'") }
        let values: [Float] = info.dtype.hasPrefix("I") || info.dtype.hasPrefix("U")
            ? try file.int64s("timestep").map { Float($0) } : try file.tensor("timestep").data
        if values.count == 1 { return Array(repeating: values[0], count: n) }
        guard values.count == n else {
            throw TweedieError.badInput("\(input): tensor 'timestep' has \(values.count) entries for batch \(n)")
        }
        return values
    }
}
