import ArgumentParser
import Foundation
import Tweedie
#if canImport(Glibc)
import Glibc
#endif

/// `tweedie sds`: score distillation of an image (or a texture behind a fixed warp) toward a class of a latent
/// pipeline, with PGC-3D's gradient path and its pixel-wise gradient clipping.
struct SDSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sds",
        abstract: "Score distillation toward a class: Adam on an image (or a texture seen through a fixed bilinear "
            + "warp), gradients g = (1 - abar_t)(eps_hat - eps) from a latent pipeline, carried back through its "
            + "VAE encoder and clipped per pixel (PGC).",
        discussion: """
            Each step encodes the image (a posterior sample times the scaling factor), draws t in [0.02, 0.98]·T \
            ([0.02, 0.5]·T with --init), noises the latent, predicts eps with CFG and injects the SDS gradient at \
            the latent. --clip edits d loss / d pixels before it reaches the parameters: pixel scales each pixel's \
            RGB gradient by min(1, c / max_ch |g|), global clips the image's norm at c·sqrt(H·W), clamp clamps \
            each element to [-c, c]. The start is mid-grey plus faint noise (std 0.02) from --seed; step k's draws come from \
            (seed, k), so a run repeats exactly.
            """)

    @Option(name: [.short, .customLong("model")], help: "Latent pipeline folder (model_index.json with vae/).")
    var model: String
    @Option(name: .customLong("class"), parsing: .unconditional, help: "Class the image is distilled toward.")
    var classID: Int
    @Option(name: .customLong("cfg-scale"), parsing: .unconditional, help: "CFG scale w: eps_u + w(eps_c - eps_u) (default 100; PGC-3D's guidance_scale s is w - 1).")
    var cfgScale: Float?
    @Option(parsing: .unconditional, help: "Optimiser steps (default 200).")
    var steps: Int?
    @Option(parsing: .unconditional, help: "Peak Adam learning rate, pixels in [0, 1] (default 0.01).")
    var lr: Float?
    @Option(parsing: .unconditional, help: "Linear warm-up steps before the cosine decay (default 10).")
    var warmup: Int?
    @Option(help: "Seed of the start image, the timesteps and the noise (default 0).")
    var seed: UInt64?
    @Option(help: "Gradient clipping on d loss / d pixels: \(PixelGradientClip.allCases.map(\.rawValue).joined(separator: ", ")).")
    var clip: String = "pixel"
    @Option(name: .customLong("clip-value"), parsing: .unconditional, help: "Threshold c of --clip (default 0.1).")
    var clipValue: Float?
    @Option(help: "What Adam moves: image, or texture (a square texture warped into the frame).")
    var render: String = "image"
    @Option(name: .customLong("texture-size"), parsing: .unconditional, help: "Side of the texture with --render texture (default 64).")
    var textureSize: Int?
    @Option(name: .customLong("init"), help: "Start from this PNG (the frame's size, or the texture's with --render texture) instead of noise.")
    var initImage: String?
    @Option(name: .shortAndLong, help: "The final image (PNG).")
    var output: String = "sds.png"
    @Option(help: "Also write the image every --frame-every steps into this folder (step_00010.png, ...).")
    var frames: String?
    @Option(name: .customLong("frame-every"), parsing: .unconditional, help: "Steps between frames.")
    var frameEvery: Int = 10
    @Option(name: .customLong("save-texture"), help: "With --render texture, also write the texture (PNG).")
    var saveTexture: String?
    @Flag(help: "No progress lines on stderr.")
    var quiet = false
    @Flag(help: "At the end print one JSON object: settings, per-step timesteps and gradient norms, outputs.")
    var json = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        var s = SDSSettings()
        s.classID = classID
        if let cfgScale { s.cfgScale = cfgScale }
        if let steps { s.steps = steps }
        if let lr { s.learningRate = lr }
        if let warmup { s.warmupSteps = warmup }
        if let seed { s.seed = seed }
        s.clip = try PixelGradientClip(parsing: clip)
        if let clipValue { s.clipValue = clipValue }
        guard let mode = SDSSettings.Render(rawValue: render) else {
            throw TweedieError.badInput("--render \(render) is unknown; valid: "
                                        + SDSSettings.Render.allCases.map(\.rawValue).joined(separator: ", "))
        }
        s.render = mode
        if let textureSize { s.textureSize = textureSize }
        s.fromInitImage = initImage != nil
        try s.validate()
        guard frameEvery >= 1 else { throw TweedieError.badInput("--frame-every: must be at least 1, got \(frameEvery)") }
        if saveTexture != nil && mode != .texture {
            throw TweedieError.badInput("--save-texture: there is no texture without --render texture")
        }

        let pipeline = try SamplingPipeline(path: model)
        guard let vae = pipeline.vae else {
            throw TweedieError.badInput("-m \(model): a pixel-space model without a VAE; sds carries its gradient "
                                        + "through a VAE encoder, so it needs a latent pipeline (model_index.json "
                                        + "with vae/)")
        }
        let classes = pipeline.classes
        guard classes.isConditional else {
            throw TweedieError.badInput("--class \(classID): \(pipeline.source.name) is an unconditional model")
        }
        guard classes.isValid(classID) else {
            throw TweedieError.badInput("--class \(classID) is out of range for \(pipeline.source.name) "
                                        + "(valid: \(classes.rangeDescription))")
        }
        if abs(s.cfgScale - 1) > 1e-6 && classes.nullClass == nil {
            throw TweedieError.badInput("--cfg-scale \(s.cfgScale): \(pipeline.source.name) has no null class for "
                                        + "guidance (use --cfg-scale 1)")
        }
        let size = pipeline.imageSize
        let sds = try ScoreDistillation(denoiser: pipeline.denoiser(),
                                        alphasCumprod: NoiseSchedule.alphasCumprod(pipeline.scheduler), vae: vae, imageShape: [1, pipeline.imageChannels, size.height, size.width],
                                        settings: s)
        let initial = try initImage.map { try loadInit($0, shape: sds.parameterShape, texture: mode == .texture) }
        let run = try SDSRun(sds, initial: initial)
        if let frames { try FileManager.default.createDirectory(atPath: frames, withIntermediateDirectories: true) }

        let recipe = metadata(s)
        let every = max(1, s.steps / 20)
        var updates: [SDSRun.Update] = []
        if !quiet {
            fputs("sds: \(pipeline.source.name), class \(classID), \(s.steps) steps, clip \(s.clip.rawValue) c "
                  + "\(s.clipValue), t in \(sds.timesteps), CFG \(s.cfgScale), render \(s.render.rawValue)\n", stderr)
        }
        let start = Date()
        try run.run { u in
            updates.append(u)
            if let frames, u.step % frameEvery == 0 {
                let name = String(format: "step_%05d.png", u.step)
                try write(run.image, to: (frames as NSString).appendingPathComponent(name), recipe: recipe)
            }
            if !quiet && (u.step % every == 0 || u.step == s.steps) {
                fputs(String(format: "step %d/%d  t %d  |g_z| %.4g  |g_px| %.4g -> %.4g  clipped %.1f%%  lr %.2e\n",
                             u.step, s.steps, u.timestep, u.latentNorm, u.pixelNorm, u.clippedNorm,
                             100 * u.clippedFraction, u.learningRate), stderr)
            }
        }
        try write(run.image, to: output, recipe: recipe)
        if let saveTexture { try write(run.parameters, to: saveTexture, recipe: recipe) }
        if json {
            print(JSONOutput.object([
                "output": .string(output), "steps": .int(s.steps),
                "seconds": .number(Date().timeIntervalSince(start), decimals: 3),
                "clip": .string(s.clip.rawValue), "clip_value": .number(Double(s.clipValue), decimals: 6),
                "class": .int(classID), "timesteps": .ints(updates.map(\.timestep)),
                "latent_grad_norm": .numbers(updates.map { Double($0.latentNorm) }, decimals: 6),
                "pixel_grad_norm": .numbers(updates.map { Double($0.pixelNorm) }, decimals: 6),
                "clipped_grad_norm": .numbers(updates.map { Double($0.clippedNorm) }, decimals: 6),
                "clipped_fraction": .numbers(updates.map(\.clippedFraction), decimals: 6),
            ]).text)
        }
    }

    /// The start image from `path`: its size must be the parameters' (frame, or texture with --render texture).
    private func loadInit(_ path: String, shape: [Int], texture: Bool) throws -> Tensor {
        let png = try PNGImage.read(path: path).image
        guard png.height == shape[2], png.width == shape[3] else {
            let what = texture ? "the texture (--texture-size) is" : "this pipeline's images are"
            throw TweedieError.badInput("--init \(path): \(png.width)x\(png.height), \(what) "
                                        + "\(shape[3])x\(shape[2])")
        }
        return png.converted(toChannels: shape[1]).tensor(range: .zeroToOne)
    }

    /// The settings as the PNGs' `tweedie` JSON chunk and `parameters` line.
    private func metadata(_ s: SDSSettings) -> [(key: String, value: String)] {
        let json = JSONOutput.object([
            "command": .string("sds"), "model": .string(model), "class": .int(s.classID),
            "cfg_scale": .number(Double(s.cfgScale), decimals: 6), "steps": .int(s.steps),
            "lr": .number(Double(s.learningRate), decimals: 8), "warmup": .int(s.warmupSteps),
            "seed": .string(String(s.seed)),
            "clip": .string(s.clip.rawValue), "clip_value": .number(Double(s.clipValue), decimals: 6),
            "render": .string(s.render.rawValue), "texture_size": .int(s.textureSize),
            "init_image": initImage.map(JSONOutput.string) ?? .null, "engine": .string(EngineVersion.string),
        ]).text
        let line = "sds, class: \(s.classID), CFG scale: \(s.cfgScale), Steps: \(s.steps), Seed: \(s.seed), "
            + "Clip: \(s.clip.rawValue) \(s.clipValue), Render: \(s.render.rawValue), Model: \(model)"
        return [(key: "parameters", value: line), (key: "tweedie", value: json)]
    }

    /// Writes `image` [1, C, H, W] in [0, 1] as a PNG with the run's metadata.
    private func write(_ image: Tensor, to path: String, recipe: [(key: String, value: String)]) throws {
        let png = try PNGImage.images(from: image, range: .zeroToOne).images[0]
        try png.write(to: path, text: recipe)
    }
}
