import TweedieCore

/// The config of diffusers' AutoencoderKL (the KL-regularised VAE of latent diffusion), with diffusers' defaults
/// for absent keys.
public struct AutoencoderKLConfig {
    /// Image channels in.
    public var inChannels: Int
    /// Image channels out.
    public var outChannels: Int
    /// Channels per resolution level (encoder order).
    public var blockOutChannels: [Int]
    /// Resnets per encoder level (the decoder uses one more).
    public var layersPerBlock: Int
    /// Nonlinearity of the resnets.
    public var actFn: Activation
    /// Channels of the latent.
    public var latentChannels: Int
    /// GroupNorm groups everywhere.
    public var normNumGroups: Int
    /// Latent scaling used by pipelines (latent * scalingFactor before the denoiser).
    public var scalingFactor: Float
    /// Latent shift used by some pipelines before scaling; nil when the config has none.
    public var shiftFactor: Float?
    /// Whether the 1x1 quant_conv after the encoder exists.
    public var useQuantConv: Bool
    /// Whether the 1x1 post_quant_conv before the decoder exists.
    public var usePostQuantConv: Bool
    /// Whether the mid blocks have their attention layer.
    public var midBlockAddAttention: Bool

    /// Reads and validates `json`.
    public init(json: JSONConfig) throws {
        inChannels = try json.positiveInt("in_channels", default: 3)
        outChannels = try json.positiveInt("out_channels", default: 3)
        blockOutChannels = try json.ints("block_out_channels", default: [64])
        guard !blockOutChannels.isEmpty, blockOutChannels.allSatisfy({ $0 > 0 }) else {
            throw json.invalid("block_out_channels", "expected positive channel counts, got \(blockOutChannels)")
        }
        let down = try json.strings("down_block_types", default: ["DownEncoderBlock2D"])
        for name in down where name != "DownEncoderBlock2D" {
            throw json.invalid("down_block_types", "unsupported block type \"\(name)\" (supported: DownEncoderBlock2D)")
        }
        let up = try json.strings("up_block_types", default: ["UpDecoderBlock2D"])
        for name in up where name != "UpDecoderBlock2D" {
            throw json.invalid("up_block_types", "unsupported block type \"\(name)\" (supported: UpDecoderBlock2D)")
        }
        guard down.count == blockOutChannels.count else {
            throw json.invalid("down_block_types", "\(down.count) blocks for \(blockOutChannels.count) "
                               + "block_out_channels")
        }
        guard up.count == blockOutChannels.count else {
            throw json.invalid("up_block_types", "\(up.count) blocks for \(blockOutChannels.count) block_out_channels")
        }
        layersPerBlock = try json.positiveInt("layers_per_block", default: 1)
        actFn = try json.activation("act_fn", default: "silu")
        latentChannels = try json.positiveInt("latent_channels", default: 4)
        normNumGroups = try json.positiveInt("norm_num_groups", default: 32)
        for c in blockOutChannels where c % normNumGroups != 0 {
            throw json.invalid("norm_num_groups", "\(normNumGroups) groups do not divide \(c) channels "
                               + "(block_out_channels \(blockOutChannels))")
        }
        scalingFactor = try json.float("scaling_factor", default: 0.18215)
        shiftFactor = try json.float("shift_factor")
        useQuantConv = try json.bool("use_quant_conv", default: true)
        usePostQuantConv = try json.bool("use_post_quant_conv", default: true)
        midBlockAddAttention = try json.bool("mid_block_add_attention", default: true)
    }
}
