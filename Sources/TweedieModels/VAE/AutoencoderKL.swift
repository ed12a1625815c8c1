import TweedieCore

/// diffusers' AutoencoderKL: `encode` returns the mean of the latent distribution (encoder -> quant_conv ->
/// first half of the moments), `decode` maps a latent back to an image (post_quant_conv -> decoder).
/// Scaling by `scalingFactor` is left to the caller, as in diffusers.
public final class AutoencoderKL {
    /// The config the network was built from.
    public let config: AutoencoderKLConfig
    /// Elements over all loaded weight tensors.
    public let parameterCount: Int
    /// Checkpoint facts (class name, tensor count, dtypes, config text) for `tweedie info`.
    public internal(set) var folderInfo: ModelFolderInfo
    /// Latent scaling factor pipelines apply (config `scaling_factor`).
    public var scalingFactor: Float { config.scalingFactor }
    /// Spatial downsampling factor between image and latent.
    public var downsamplingFactor: Int { 1 << (config.blockOutChannels.count - 1) }

    private let encoder: VAEEncoder
    private let decoder: VAEDecoder
    private let quantConv: Conv2d?
    private let postQuantConv: Conv2d?

    /// Builds the autoencoder described by `config` from `store`.
    public init(config c: AutoencoderKLConfig, store: WeightStore) throws {
        config = c
        encoder = try VAEEncoder(store, "encoder", config: c)
        decoder = try VAEDecoder(store, "decoder", config: c)
        let l = c.latentChannels
        quantConv = c.useQuantConv ? try Conv2d(store, "quant_conv", in: 2 * l, out: 2 * l, kernel: 1) : nil
        postQuantConv = c.usePostQuantConv ? try Conv2d(store, "post_quant_conv", in: l, out: l, kernel: 1) : nil
        parameterCount = store.parameterCount
        folderInfo = ModelFolderInfo(className: "AutoencoderKL", store: store)
    }

    /// image [N, in, H, W] (values in [-1, 1]) -> latent mean [N, latent, H/f, W/f].
    public func encode(_ image: Tensor) throws -> Tensor {
        let f = downsamplingFactor
        guard image.rank == 4, image.shape[1] == config.inChannels, image.shape[2] % f == 0,
              image.shape[3] % f == 0, image.shape[0] > 0 else {
            throw TweedieError.badInput("AutoencoderKL.encode: image must be [N, \(config.inChannels), H, W] with H "
                                        + "and W divisible by \(f), got \(image.shape)")
        }
        var moments = encoder(image)
        if let quantConv { moments = quantConv(moments) }
        return split(moments, sizes: [config.latentChannels, config.latentChannels], axis: 1)[0]
    }

    /// latent [N, latent, h, w] -> image [N, out, h*f, w*f].
    public func decode(_ latent: Tensor) throws -> Tensor {
        guard latent.rank == 4, latent.shape[1] == config.latentChannels, latent.shape[0] > 0 else {
            throw TweedieError.badInput("AutoencoderKL.decode: latent must be [N, \(config.latentChannels), h, w], "
                                        + "got \(latent.shape)")
        }
        return decoder(postQuantConv.map { $0(latent) } ?? latent)
    }
}
