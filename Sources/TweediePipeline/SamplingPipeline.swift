import Foundation
import TweedieCore
import TweedieModels
import TweedieSamplers

/// A loaded model ready to sample: the denoising network, its scheduler config, its class space and, for latent
/// pipelines, the autoencoder that turns final latents into images (image = vae.decode(latents / scaling_factor)).
public final class SamplingPipeline {
    /// Where everything came from.
    public let source: ModelSource
    /// The denoising network (UNet2DModel or DiT).
    public let network: DiffusionModel
    /// The decoder of a latent pipeline; nil when the network works on pixels.
    public let vae: AutoencoderKL?
    /// Training noise schedule and prediction type.
    public let scheduler: SchedulerConfig
    /// Class ids, null class and names (a concept added from an embedding file joins them).
    public internal(set) var classes: ClassSpace
    /// The concept added with `addEmbedding`, if any.
    public internal(set) var embedding: AppliedEmbedding?
    /// The network also predicts a variance (DiT with out_channels = 2 x in): those channels are dropped.
    public let learnedSigma: Bool
    /// The network's class name as written in its config.json.
    public let networkClassName: String
    /// LoRA files merged into the network (`addLoRA`), in order; image metadata records them.
    public internal(set) var loras: [LoRASpec.Applied] = []

    /// Loads the folder at `path` (see `ModelSource` for the layouts).
    public convenience init(path: String) throws {
        try self.init(source: try ModelSource(path: path))
    }

    /// Loads the network, scheduler config and optional autoencoder of `source`.
    public init(source: ModelSource) throws {
        self.source = source
        // Sizes are checked on the config before the model is built, so a huge sample_size fails with a message
        // instead of an allocation failure.
        try ResourceLimits.checkModelConfig(folder: source.networkFolder)
        if let vaeFolder = source.vaeFolder { try ResourceLimits.checkModelConfig(folder: vaeFolder) }
        let loaded = try ModelFolder.load(source.networkFolder)
        networkClassName = loaded.className
        guard let net = loaded.diffusionModel else {
            throw TweedieError.badInput("\(source.networkFolder): \(loaded.className) is not a denoising network "
                                        + "(expected UNet2DModel or a DiT)")
        }
        network = net
        if let vaeFolder = source.vaeFolder {
            guard let v = try ModelFolder.load(vaeFolder) as? AutoencoderKL else {
                throw TweedieError.badInput("\(vaeFolder): expected an AutoencoderKL")
            }
            guard v.config.latentChannels == net.inChannels else {
                throw TweedieError.badInput("\(vaeFolder): latent_channels \(v.config.latentChannels) does not match "
                                            + "the network's \(net.inChannels) input channels")
            }
            vae = v
        } else {
            vae = nil
        }
        scheduler = try source.schedulerConfigPath.map { try SchedulerConfig(path: $0) } ?? SchedulerConfig()
        learnedSigma = net.outChannels == 2 * net.inChannels
        guard learnedSigma || net.outChannels == net.inChannels else {
            throw TweedieError.badInput("\(source.networkFolder): out_channels \(net.outChannels) is neither "
                                        + "in_channels \(net.inChannels) nor twice it")
        }
        classes = try SamplingPipeline.classSpace(net.classConditioning, source: source)
        let config = (source.networkFolder as NSString).appendingPathComponent(ModelFolder.configFile)
        try ResourceLimits.checkSample(net.sampleShape, source: config)
        if let vae {
            let f = vae.downsamplingFactor
            try ResourceLimits.checkSample([vae.config.outChannels, net.sampleShape[1] * f, net.sampleShape[2] * f],
                                           source: (source.vaeFolder! as NSString).appendingPathComponent(ModelFolder.configFile))
        }
    }

    /// [C, H, W] of one sample in model space (latents for a latent pipeline).
    public var sampleShape: [Int] { network.sampleShape }

    /// Width and height of the images the pipeline writes.
    public var imageSize: (width: Int, height: Int) {
        let f = vae?.downsamplingFactor ?? 1
        return (sampleShape[2] * f, sampleShape[1] * f)
    }

    /// Channels of the images the pipeline writes.
    public var imageChannels: Int { vae?.config.outChannels ?? sampleShape[0] }

    /// The network as a k-diffusion denoiser under the scheduler's prediction type, with the learned variance split
    /// off and the null class mapped in for unconditional samples. `clip` applies the config's clip_sample to x0
    /// (see `ImageGenerator.run` for which samplers want that).
    public func denoiser(clip: Bool = false) -> VPDenoiser {
        let net = network
        let conditional = classes.isConditional
        // A conditional network without a null class still needs a non-nil id here; -1 is rejected by the network
        // should an unconditional pass ever reach it (guidance is refused earlier for such models).
        return VPDenoiser(alphasCumprod: NoiseSchedule.alphasCumprod(scheduler), prediction: scheduler.predictionType,
                          learnedSigma: learnedSigma, nullClass: conditional ? (classes.nullClass ?? -1) : nil,
                          clipDenoised: clip && scheduler.clipSample ? Float(scheduler.clipSampleRange) : nil) { x, t, labels in
            try net.forward(x, timesteps: t, classLabels: conditional ? labels : nil)
        }
    }

    /// Model-space samples [N, C, h, w] -> images [N, C', H, W] in [-1, 1] (identity without an autoencoder).
    public func decode(_ sample: Tensor) throws -> Tensor {
        guard let vae else { return sample }
        let s = 1 / vae.scalingFactor
        let shift = vae.config.shiftFactor ?? 0
        let latents = Tensor(shape: sample.shape, data: sample.data.map { $0 * s + shift })
        return try vae.decode(latents)
    }

    private var hashes: [String: String] = [:]

    /// SHA-256 of the network's weights file (computed once).
    public func weightsHash() throws -> String { try hash(source.weightsPath) }

    /// SHA-256 of the autoencoder's weights file, if any.
    public func vaeHash() throws -> String? { try source.vaeWeightsPath.map { try hash($0) } }

    private func hash(_ path: String) throws -> String {
        if let h = hashes[path] { return h }
        let h = try SHA256.hex(fileAt: path)
        hashes[path] = h
        return h
    }

    /// The class space of a network's conditioning under the folder's settings.
    public static func classSpace(_ c: ClassConditioning, source: ModelSource) throws -> ClassSpace {
        let table: Int
        switch c.table {
        case .none: return .unconditional
        case .ids(let k): table = k
        case .any: table = Int.max
        }
        var null = c.defaultNull
        if let s = source.nullClassSetting {
            null = s < 0 ? nil : s
            if let n = null, c.nullPastTable ? n > table : n >= table {
                let ids = c.nullPastTable ? "\(table + 1) class rows" : "\(table) class ids"
                throw TweedieError.badInput("\(source.path): null_class \(n) is outside the network's \(ids)")
            }
        }
        // A null id past the real classes widens the accepted range by one.
        let accepted = c.nullPastTable && null == table ? table + 1 : table
        return ClassSpace(tableSize: accepted, nullClass: null, labels: source.labels)
    }
}
