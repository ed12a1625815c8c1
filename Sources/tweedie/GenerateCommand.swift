import ArgumentParser
import Foundation
import Tweedie

/// `tweedie generate`: samples images from a model folder and writes PNGs whose metadata re-creates them.
/// Flags follow stable-diffusion.cpp's names where they exist there.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Sample images from a model folder and write PNGs carrying their settings.",
        discussion: """
            Image i of a run uses seed + start-index + i and, with --rng philox (default) or torch, its own noise \
            streams, so any image can be re-made alone: `tweedie generate --from img.png` re-creates it bit for \
            bit (flags given with --from override the stored ones). Without --class a class-conditional model \
            cycles through its classes. Exit codes: 0 ok, 1 runtime failure, 2 bad input, 130 interrupted.
            """)

    @Option(name: [.short, .customLong("model")], help: "Model folder: a UNet2DModel/DiT folder or a diffusers pipeline folder (default: the bundled assets/fashion32).")
    var model: String?
    @Option(name: .customLong("class"), help: "Class id for every image (default: cycle through the classes).")
    var classID: Int?
    @Option(help: "Class by name, from the model's labels / id2label.")
    var label: String?
    @Option(help: "Sampling steps (default 20).")
    var steps: Int?
    @Option(help: "Sampler: \(SamplerRegistry.names.joined(separator: ", ")) (default euler_a).")
    var sampler: String?
    @Option(help: "Sigma schedule: \(GenerationSettings.scheduleNames.joined(separator: ", ")).")
    var schedule: String?
    @Option(help: "Custom descending sigmas, comma-separated (a final 0 is appended); sets the step count.")
    var sigmas: String?
    @Option(help: "none, cfg or apg (default: cfg when the model has a null class, else none).")
    var guidance: String?
    @Option(name: .customLong("cfg-scale"), help: "Guidance scale w; 1 = conditional only (default 3).")
    var cfgScale: Float?
    @Option(name: .customLong("guidance-rescale"), help: "CFG rescale phi in [0, 1] (default 0).")
    var guidanceRescale: Float?
    @Option(name: .customLong("apg-eta"), help: "APG weight of the parallel component (default 0).")
    var apgEta: Float?
    @Option(name: .customLong("apg-momentum"), parsing: .unconditional, help: "APG momentum (default -0.5).")
    var apgMomentum: Float?
    @Option(name: .customLong("apg-norm-threshold"), help: "APG norm threshold, 0 = off (default 0).")
    var apgNormThreshold: Float?
    @Option(name: .customLong("guidance-interval"), help: "Guide only steps with START <= i/N < STOP, as START,STOP.")
    var guidanceInterval: String?
    @Option(help: "Noise scale of ddim (default 0) and euler_a (default 1).")
    var eta: Float?
    @Option(parsing: .unconditional, help: "Seed (default: random, always printed; -1 = random).")
    var seed: Int64?
    @Option(help: "Noise generator: philox (default) or torch (torch.randn-exact, one generator per image).")
    var rng: String?
    @Option(name: [.short, .customLong("batch-count")], help: "Number of images (default 1, or the latents' batch).")
    var batchCount: Int?
    @Option(name: .customLong("start-index"), help: "Index of the first image: seed offset and file numbering.")
    var startIndex: Int?
    @Option(name: [.short, .customLong("output")], help: "Output PNG path; printf pattern on the image index, e.g. out/img_%03d.png.")
    var output = "output.png"
    @Option(help: "Also write all images as one grid PNG.")
    var grid: String?
    @Option(help: "Initial unit noise: safetensors file with tensor `sample` [N, C, h, w].")
    var latents: String?
    @Option(name: .customLong("save-tensor"), help: "Write the final samples (model space) as tensor `sample`.")
    var saveTensor: String?
    @Option(help: "Re-make the image whose metadata this PNG holds.")
    var from: String?
    @Flag(help: "No progress output.")
    var quiet = false
    @Flag(help: "One JSON line per image (path, seed, class, saturation, clipped_fraction) and a summary line.")
    var json = false
    @Flag(name: .customLong("disable-image-metadata"), help: "Write PNGs without text chunks.")
    var disableImageMetadata = false
    @Flag(help: .hidden)
    var progress = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        GenerateInterrupt.install()
        let recipe = try from.map { try ImageMetadata.recipe(fromPNGAt: $0) }
        guard let modelPath = model ?? recipe?.model.path ?? BundledModel.defaultPath() else {
            throw TweedieError.badInput("-m/--model: no model folder given and the bundled assets/fashion32 was not found")
        }
        let pipeline = try SamplingPipeline(path: modelPath)
        let generator = ImageGenerator(pipeline: pipeline)
        if let recipe, !quiet, try pipeline.weightsHash() != recipe.model.weightsSHA256 {
            fputs("tweedie: warning: \(pipeline.source.weightsPath) differs from the weights that made \(from!) "
                  + "(sha256 \(recipe.model.weightsSHA256.prefix(10))); the result will not match\n", stderr)
        }
        let settings = try resolveSettings(base: recipe?.settings, generator: generator)
        try generator.validate(settings)

        let writer = try GenerateWriter(command: self, settings: settings, pipeline: pipeline)
        let noise = try settings.latents.map {
            try LatentsFile.load(path: $0, offset: settings.latentsOffset, count: settings.batchCount,
                                 sampleShape: pipeline.sampleShape)
        }
        let steps = try generator.schedule(settings).sigmas.count - 1
        let progressBar = GenerateProgress(enabled: !quiet && (progress || GenerateProgress.stderrIsTerminal),
                                           label: settings.batchCount == 1 ? "1 image" : "\(settings.batchCount) images")
        if GenerateInterrupt.requested { throw interrupted(step: 0, of: steps) }
        var lastStep = -1
        progressBar.begin()
        let result = try generator.run(settings, initialNoise: noise) { info in
            lastStep = info.step
            progressBar.update(step: info.step, total: info.total)
            return GenerateInterrupt.requested ? .stop : .continue
        }
        progressBar.finish()
        if result.stopped { throw interrupted(step: lastStep + 1, of: steps) }
        try writer.write(result, seconds: progressBar.elapsed, steps: steps)
    }

    private func interrupted(step: Int, of total: Int) -> ExitCode {
        fputs("tweedie: interrupted after step \(step)/\(total); nothing written\n", stderr)
        return ExitCode(GenerateInterrupt.exitCode)
    }
}
