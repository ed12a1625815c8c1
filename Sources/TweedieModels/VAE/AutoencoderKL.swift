import TweedieCore

/// diffusers' AutoencoderKL: `encode` returns the mean of the latent distribution (encoder -> quant_conv ->
/// first half of the moments), `decode` maps a latent back to an image (post_quant_conv -> decoder).
/// Scaling by `scalingFactor` is left to the caller, as in diffusers. Written over the tape like the denoisers, so
/// the encoder and decoder are differentiable (`encodeMoments`, `decode(_ scope:...)`).
public final class AutoencoderKL: LatentAutoencoder {
    /// The config the network was built from.
    public let config: AutoencoderKLConfig
    /// Elements over all loaded weight tensors.
    public let parameterCount: Int
    /// The parameters (and weight providers) every pass reads.
    public let weights: ModelWeights
    /// Checkpoint facts (class name, tensor count, dtypes, config text) for `tweedie info`.
    public var folderInfo: ModelFolderInfo
    /// Latent scaling factor pipelines apply (config `scaling_factor`).
    public var scalingFactor: Float { config.scalingFactor }
    /// Spatial downsampling factor between image and latent.
    public var downsamplingFactor: Int { 1 << (config.blockOutChannels.count - 1) }

    /// [latent channels, h/f, w/f].
    public func latentShape(height: Int, width: Int) -> [Int] {
        [config.latentChannels, height / downsamplingFactor, width / downsamplingFactor]
    }

    private let encoder: VAEEncoder
    private let decoder: VAEDecoder
    private let quantConv: Conv2d?
    private let postQuantConv: Conv2d?

    /// Builds the autoencoder described by `config` from `store`.
    public init(config c: AutoencoderKLConfig, store: WeightStore) throws {
        config = c
        let loader = WeightLoader(store)
        encoder = try VAEEncoder(loader, "encoder", config: c)
        decoder = try VAEDecoder(loader, "decoder", config: c)
        let l = c.latentChannels
        quantConv = c.useQuantConv ? try Conv2d(loader, "quant_conv", in: 2 * l, out: 2 * l, kernel: 1) : nil
        postQuantConv = c.usePostQuantConv ? try Conv2d(loader, "post_quant_conv", in: l, out: l, kernel: 1) : nil
        weights = loader.weights
        parameterCount = store.parameterCount
        folderInfo = ModelFolderInfo(className: "AutoencoderKL", store: store)
    }

    /// image [N, in, H, W] (values in [-1, 1]) -> latent mean [N, latent, H/f, W/f].
    public func encode(_ image: Tensor) throws -> Tensor {
        let tape = Tape()
        return try encodeMoments(ForwardScope(tape: tape, weights: weights), image: tape.constant(image)).mean.value
    }

    /// The latent distribution of `image` on `scope`'s tape: its mean and log-variance (diffusers'
    /// DiagonalGaussianDistribution before clamping; a posterior sample is mean + exp(logvar / 2)·ε).
    public func encodeMoments(_ scope: ForwardScope, image: Variable) throws -> (mean: Variable, logVariance: Variable) {
        let f = downsamplingFactor, shape = image.shape
        guard shape.count == 4, shape[1] == config.inChannels, shape[2] % f == 0, shape[3] % f == 0,
              shape[0] > 0 else {
            throw TweedieError.badInput("AutoencoderKL.encode: image must be [N, \(config.inChannels), H, W] with H "
                                        + "and W divisible by \(f), got \(shape)")
        }
        var moments = encoder(scope, image)
        if let quantConv { moments = quantConv(scope, moments) }
        let parts = scope.tape.split(moments, sizes: [config.latentChannels, config.latentChannels], axis: 1)
        return (parts[0], parts[1])
    }

    /// latent [N, latent, h, w] -> image [N, out, h*f, w*f].
    public func decode(_ latent: Tensor) throws -> Tensor {
        let tape = Tape()
        return try decode(ForwardScope(tape: tape, weights: weights), latent: tape.constant(latent)).value
    }

    /// `decode` on `scope`'s tape.
    public func decode(_ scope: ForwardScope, latent: Variable) throws -> Variable {
        let shape = latent.shape
        guard shape.count == 4, shape[1] == config.latentChannels, shape[0] > 0 else {
            throw TweedieError.badInput("AutoencoderKL.decode: latent must be [N, \(config.latentChannels), h, w], "
                                        + "got \(shape)")
        }
        return decoder(scope, postQuantConv.map { $0(scope, latent) } ?? latent)
    }
}
