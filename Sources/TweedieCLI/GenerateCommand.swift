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
            cycles through its classes. A --from PNG is untrusted: its settings are used, but the model comes from -m \
            (or the bundled one) and must have the weights that made it (--allow-other-weights to sample anyway); \
            stored paths are followed only with --trust-paths. Files are written under temporary names and renamed \
            when the whole run has finished; a failed or interrupted run leaves nothing behind (--keep-partial keeps \
            the finished images). With --manifest the run is a shard of a larger job: images are committed chunk \
            by chunk and listed with their SHA-256 in the manifest, and a re-run skips the ones that verify. Exit \
            codes: 0 ok, 1 runtime failure (e.g. NaN during sampling), 2 bad input, \
            130 interrupted (SIGINT), 143 terminated (SIGTERM).
            """)

    @Option(name: [.short, .customLong("model")], help: "Model folder: a UNet2DModel/DiT folder or a diffusers pipeline folder (default: the bundled assets/fashion32).")
    var model: String?
    @Option(name: .customLong("class"), parsing: .unconditional, help: "Class id for every image (default: cycle through the classes).")
    var classID: Int?
    @Option(help: "Class by name, from the model's labels / id2label.")
    var label: String?
    @Option(parsing: .unconditional, help: "Sampling steps (default 20, at most \(ResourceLimits.maxSteps)).")
    var steps: Int?
    @Option(name: [.customLong("sampler"), .customLong("sampling-method")],
            help: "Sampler: \(SamplerRegistry.names.joined(separator: ", ")) (default euler_a); --sampling-method is sd.cpp's name.")
    var sampler: String?
    @Option(help: "Sigma schedule: \(GenerationSettings.scheduleNames.joined(separator: ", ")).")
    var schedule: String?
    @Option(help: "Custom descending sigmas, comma-separated (a final 0 is appended); sets the step count.")
    var sigmas: String?
    @Option(help: ArgumentHelp("\(GuiderRegistry.names.joined(separator: ", ")) (default: cfg when the model has a null class, else none).",
                               valueName: "name"))
    var guidance: String?
    @Option(name: .customLong("cfg-scale"), parsing: .unconditional,
            help: "Guidance scale w in [0, \(Int(ResourceLimits.maxCFGScale))]; 1 = conditional only (default 3).")
    var cfgScale: Float?
    @Option(name: .customLong("guidance-param"), help: ArgumentHelp(GuiderFlags.help, valueName: "key=value"))
    var guidanceParams: [String] = []
    @Option(name: .customLong("guidance-interval"), help: "Guide only steps with START <= i/N < STOP, as START,STOP.")
    var guidanceInterval: String?
    @Option(parsing: .unconditional, help: "Noise scale of ddim (default 0) and euler_a (default 1).")
    var eta: Float?
    @Option(name: [.short, .long], parsing: .unconditional, help: "Seed (default: random, always printed; -1 = random).")
    var seed: Int64?
    @Option(help: "Noise generator: philox (default) or torch (torch.randn-exact, one generator per image).")
    var rng: String?
    @Option(help: ArgumentHelp("Convolution precision: f32 (default) or bf16 (input and weights rounded to bfloat16, "
                               + "Float32 sums; needs a CPU with AVX512-BF16 or AMX).", valueName: "f32|bf16"))
    var precision: String?
    @Option(name: [.short, .customLong("batch-count")], parsing: .unconditional,
            help: "Number of images (default 1, or the latents' batch; at most \(ResourceLimits.maxBatchCount)).")
    var batchCount: Int?
    @Option(name: .customLong("batch-size"), parsing: .unconditional,
            help: "Images sampled at once: a larger -b runs in chunks of this size, so memory does not grow with the image count (default \(ResourceLimits.defaultBatchSize), at most \(ResourceLimits.maxBatchSize)).")
    var batchSize: Int?
    @Option(name: .customLong("start-index"), parsing: .unconditional, help: "Index of the first image: seed offset and file numbering.")
    var startIndex: Int?
    @Option(help: ArgumentHelp("Make this run one shard of a larger job: write a manifest (indices, seeds, settings, weights and "
                               + "image SHA-256s) after every chunk; a re-run skips the images it lists that still verify. "
                               + "`tweedie merge` checks a job's manifests.", valueName: "file"))
    var manifest: String?
    @Option(name: .customLong("job-size"), parsing: .unconditional,
            help: "With --manifest: images in the whole job (indices 0..<N), so merge can tell that a last shard is missing.")
    var jobSize: Int?
    @Option(name: [.short, .customLong("output")], help: "Output PNG path; printf pattern on the image index, e.g. out/img_%03d.png.")
    var output = "output.png"
    @Option(help: "Also write all images as one grid PNG (at most \(ResourceLimits.maxGridImages) images).")
    var grid: String?
    @Option(help: "Initial unit noise: safetensors file with tensor `sample` [N, C, h, w].")
    var latents: String?
    @Option(help: "A class embedding from `tweedie invert`: its concept becomes one more class, sampled by default.")
    var embedding: String?
    @Option(name: .customLong("save-tensor"), help: "Write the final samples (model space) as tensor `sample`.")
    var saveTensor: String?
    @Option(help: "Re-make the image whose metadata this PNG holds, with the model from -m (or the bundled one).")
    var from: String?
    @Option(help: ArgumentHelp("Merge a LoRA file (diffusers' layout, e.g. from `tweedie finetune`) into the network at "
                               + "strength SCALE (default 1; 0 is the base model); repeatable, applied in order.",
                               valueName: "file[:scale]"))
    var lora: [String] = []
    @Flag(name: .customLong("trust-paths"), help: "With --from: use the model folder and latents file paths stored in the PNG.")
    var trustPaths = false
    @Flag(name: .customLong("allow-other-weights"), help: "With --from: sample even when the model's weights differ from the ones that made the PNG (a warning, not an error).")
    var allowOtherWeights = false
    @Flag(name: .customLong("keep-partial"), help: "When a run fails or is interrupted, keep the images already finished (default: remove them).")
    var keepPartial = false
    @Flag(help: "No progress output.")
    var quiet = false
    @Flag(help: "One JSON line per image (path, index, seed, class = id, label = name, saturation, clipped_fraction) and a summary line.")
    var json = false
    @Flag(name: .customLong("disable-image-metadata"), help: "Write PNGs without text chunks.")
    var disableImageMetadata = false
    @Option(help: "Progress on stderr: auto (a redrawn line when stderr is a terminal), bar, plain (one line per step, for logs) or none.")
    var progress: String = "auto"
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        guard let progressMode = GenerateProgress.Mode(rawValue: progress) else {
            throw TweedieError.badInput("--progress \(progress) is unknown; valid: "
                                        + GenerateProgress.Mode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        GenerateInterrupt.install()
        let recipe = try from.map { try ImageMetadata.recipe(fromPNGAt: $0) }
        let pipeline = try SamplingPipeline(path: try modelPath(recipe: recipe))
        if let path = try embeddingPath(recipe: recipe) { try pipeline.addEmbedding(path: path) }
        for spec in try loraSpecs(recipe: recipe) { try pipeline.addLoRA(spec) }
        let generator = ImageGenerator(pipeline: pipeline)
        if let recipe { try checkWeights(recipe, pipeline: pipeline) }
        let settings = try resolveSettings(base: recipe, generator: generator)
        try generator.validate(settings)
        let chunk = min(settings.batchCount, batchSize ?? ResourceLimits.defaultBatchSize)
        guard chunk >= 1, chunk <= ResourceLimits.maxBatchSize else {
            throw TweedieError.badInput("--batch-size must be in 1...\(ResourceLimits.maxBatchSize), got \(batchSize ?? chunk)")
        }
        try ResourceLimits.checkChunk(batchSize: chunk, passes: settings.guidance == "none" ? 1 : 2,
                                      sampleElements: pipeline.sampleShape.reduce(1, *))

        var writer = try GenerateWriter(command: self, settings: settings, pipeline: pipeline)
        let shard = try openShard(settings: settings, pipeline: pipeline)
        let plan = shard?.plan(settings: settings, chunk: chunk)
            ?? stride(from: 0, to: settings.batchCount, by: chunk).map { ($0, min(chunk, settings.batchCount - $0)) }
        let steps = try generator.schedule(settings).sigmas.count - 1
        let progressBar = GenerateProgress(mode: quiet ? .none : progressMode,
                                           label: settings.batchCount == 1 ? "1 image" : "\(settings.batchCount) images")
        var lastStep = -1
        progressBar.begin()
        do {
            if GenerateInterrupt.requested { throw interrupted(step: 0, of: steps) }
            for (first, count) in plan {
                let part = settings.chunk(first: first, count: count)
                if chunk < settings.batchCount {
                    progressBar.beginChunk(label: "images \(first + 1)-\(first + part.batchCount) of \(settings.batchCount)")
                }
                let noise = try part.latents.map {
                    try LatentsFile.load(path: $0, offset: part.latentsOffset, count: part.batchCount,
                                         sampleShape: pipeline.sampleShape)
                }
                let result = try generator.run(part, initialNoise: noise) { info in
                    lastStep = info.step
                    progressBar.update(step: info.step, total: info.total)
                    return GenerateInterrupt.requested ? .stop : .continue
                }
                if result.stopped {
                    progressBar.finish()
                    throw interrupted(step: lastStep + 1, of: steps)
                }
                try writer.stage(result, settings: part)
                if let shard, let manifest { try shard.record(try writer.commitChunk(), manifestPath: manifest) }
            }
            progressBar.finish()
            try shard?.progress.finish()
            try writer.finish(seconds: progressBar.elapsed, steps: steps)
        } catch {
            progressBar.finish()
            let kept = writer.abandon(keep: keepPartial)
            if kept > 0 { fputs("tweedie: kept \(kept) finished file\(kept == 1 ? "" : "s") (--keep-partial)\n", stderr) }
            throw error
        }
    }

    /// The shard manifest of a --manifest run (nil without one); --grid and --save-tensor need every image of one
    /// process, so they are refused here.
    private func openShard(settings: GenerationSettings, pipeline: SamplingPipeline) throws -> GenerateShard? {
        guard let manifest else {
            if jobSize != nil { throw TweedieError.badInput("--job-size: only with --manifest") }
            return nil
        }
        for (flag, value) in [("--grid", grid), ("--save-tensor", saveTensor)] where value != nil {
            throw TweedieError.badInput("\(flag): not with --manifest (a shard holds part of a job; make it from the merged images)")
        }
        try OutputPattern.checkWritable(manifest, flag: "--manifest")
        return try GenerateShard(path: manifest, settings: settings, pipeline: pipeline, jobSize: jobSize, quiet: quiet)
    }

    /// The model folder: -m, else (with --trust-paths) the one a --from PNG names, else the bundled model.
    private func modelPath(recipe: ImageRecipe?) throws -> String {
        if let model { return model }
        if trustPaths, let stored = recipe?.model.path { return stored }
        guard let bundled = BundledModel.defaultPath() else {
            throw TweedieError.badInput("-m/--model: no model folder given and the bundled assets/fashion32 was not found")
        }
        return bundled
    }

    /// The embedding file: --embedding, or for a --from PNG made with one, --embedding must name it (the PNG stores
    /// only its file name and hash, as for latents).
    private func embeddingPath(recipe: ImageRecipe?) throws -> String? {
        if let embedding { return embedding }
        if let stored = recipe?.settings.embedding {
            throw TweedieError.badInput("--from \(from!): the image was made with the embedding \(stored); give "
                                        + "--embedding FILE")
        }
        return nil
    }

    /// The --lora files. A --from PNG made with LoRAs stores only their names, hashes and strengths (as for
    /// latents), so --lora must name the files again; `checkWeights` then compares hashes and strengths.
    private func loraSpecs(recipe: ImageRecipe?) throws -> [LoRASpec] {
        let given = try lora.map { try LoRASpec(parsing: $0) }
        if let stored = recipe?.loras, !stored.isEmpty, given.isEmpty {
            throw TweedieError.badInput("--from \(from!): the image was made with the LoRA "
                                        + stored.map { "\($0.name):\(GuiderParameter.text($0.scale))" }
                                            .joined(separator: ", ") + "; give --lora FILE[:SCALE]")
        }
        return given
    }

    /// A --from PNG made with other weights is refused unless --allow-other-weights, which makes it a warning
    /// (printed even with --quiet: the result will not match the PNG).
    private func checkWeights(_ recipe: ImageRecipe, pipeline: SamplingPipeline) throws {
        var differences: [String] = []
        let weights = try pipeline.weightsHash()
        if weights != recipe.model.weightsSHA256 {
            differences.append("\(pipeline.source.weightsPath) has sha256 \(weights.prefix(12)), the PNG was made with "
                               + "\(recipe.model.weightsSHA256.prefix(12)) (model \(recipe.model.name))")
        }
        let vae = try pipeline.vaeHash()
        if let stored = recipe.model.embeddingSHA256, let e = pipeline.embedding, e.sha256 != stored {
            differences.append("\(e.path) has sha256 \(e.sha256.prefix(12)), the PNG was made with the embedding "
                               + "\(stored.prefix(12))")
        }
        if vae != recipe.model.vaeSHA256 {
            differences.append("the autoencoder's sha256 is \(vae.map { String($0.prefix(12)) } ?? "none"), the PNG's "
                               + "\(recipe.model.vaeSHA256.map { String($0.prefix(12)) } ?? "none")")
        }
        func loras(_ list: [LoRASpec.Applied]) -> String {
            list.isEmpty ? "none" : list.map { "\($0.name):\(GuiderParameter.text($0.scale)) (sha256 \($0.sha256.prefix(12)))" }
                .joined(separator: ", ")
        }
        if pipeline.loras != (recipe.loras ?? []) {
            differences.append("the LoRAs are \(loras(pipeline.loras)), the PNG was made with \(loras(recipe.loras ?? []))")
        }
        guard !differences.isEmpty else { return }
        let what = "--from \(from!): " + differences.joined(separator: "; ")
        guard allowOtherWeights else {
            throw TweedieError.badInput(what + "; give -m with the model that made it, or --allow-other-weights")
        }
        fputs("tweedie: warning: \(what); the result will not match\n", stderr)
    }

    private func interrupted(step: Int, of total: Int) -> ExitCode {
        fputs("tweedie: interrupted after step \(step)/\(total); nothing written\(keepPartial ? " for this chunk" : "")\n", stderr)
        return ExitCode(GenerateInterrupt.signalExitCode)
    }
}
