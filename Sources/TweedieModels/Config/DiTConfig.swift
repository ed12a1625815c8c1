import TweedieCore

/// The config of a class-conditional DiT: diffusers' `DiTTransformer2DModel`, or the older `Transformer2DModel`
/// with `patch_size` and `norm_type: "ada_norm_zero"` (what the original DiT checkpoints ship). For the latter,
/// diffusers' from_pretrained builds a DiTTransformer2DModel, so absent keys take DiTTransformer2DModel's
/// defaults in both cases; only the keys that make the old class a DiT at all are required there.
public struct DiTConfig {
    /// Feed-forward activations of the transformer blocks.
    public enum FeedForwardActivation: String {
        case gelu
        case geluApproximate = "gelu-approximate"
        case geglu
    }

    /// Attention heads per block.
    public var numAttentionHeads: Int
    /// Channels per head; the token width is heads x head dim.
    public var attentionHeadDim: Int
    /// Channels of the latent input.
    public var inChannels: Int
    /// Channels of the raw output (2 x in for learned sigma).
    public var outChannels: Int
    /// Number of transformer blocks.
    public var numLayers: Int
    /// Whether q/k/v projections carry biases.
    public var attentionBias: Bool
    /// Trained latent height and width.
    public var sampleSize: Int
    /// Side of the square patches.
    public var patchSize: Int
    /// Feed-forward activation.
    public var activation: FeedForwardActivation
    /// Number of class labels (the embedding table has one more row: the null class used for guidance).
    public var numEmbedsAdaNorm: Int
    /// Whether the blocks' feed-forward LayerNorm has weight and bias.
    public var normElementwiseAffine: Bool
    /// Epsilon of that LayerNorm.
    public var normEps: Float

    /// Token width (heads x head dim).
    public var innerDim: Int { numAttentionHeads * attentionHeadDim }

    /// Reads and validates `json`, taking the class from its `_class_name` (DiTTransformer2DModel when absent).
    public init(json: JSONConfig) throws {
        try self.init(json: json, className: try json.string("_class_name", default: "DiTTransformer2DModel"))
    }

    /// Reads and validates `json`; `className` is the config's `_class_name`.
    public init(json: JSONConfig, className: String) throws {
        let legacy = className == "Transformer2DModel"
        if legacy {
            guard json.has("patch_size") else {
                throw TweedieError.badInput("\(json.path): missing required field 'patch_size' (only the patched "
                                            + "DiT form of Transformer2DModel is supported)")
            }
            guard json.has("norm_type") else {
                throw TweedieError.badInput("\(json.path): missing required field 'norm_type' (a Transformer2DModel "
                                            + "DiT needs \"ada_norm_zero\")")
            }
            guard json.has("in_channels") else {
                throw TweedieError.badInput("\(json.path): missing required field 'in_channels'")
            }
            if json.has("num_vector_embeds") {
                throw json.invalid("num_vector_embeds", "discrete (vector-quantised) inputs are not supported")
            }
            if json.has("cross_attention_dim") {
                throw json.invalid("cross_attention_dim", "cross-attention is not supported in a DiT")
            }
        }
        _ = try json.choice("norm_type", default: "ada_norm_zero", allowed: ["ada_norm_zero"])
        numAttentionHeads = try json.positiveInt("num_attention_heads", default: 16)
        attentionHeadDim = try json.positiveInt("attention_head_dim", default: 72)
        inChannels = try json.positiveInt("in_channels", default: 4)
        outChannels = try json.int("out_channels") ?? inChannels
        guard outChannels > 0 else { throw json.invalid("out_channels", "must be positive, got \(outChannels)") }
        numLayers = try json.positiveInt("num_layers", default: 28)
        attentionBias = try json.bool("attention_bias", default: true)
        if json.isNull("sample_size") {
            throw json.invalid("sample_size", "null is not supported (the positional embedding needs it)")
        }
        sampleSize = try json.positiveInt("sample_size", default: 32)
        patchSize = try json.positiveInt("patch_size", default: 2)
        guard sampleSize % patchSize == 0 else {
            throw json.invalid("patch_size", "\(patchSize) does not divide sample_size \(sampleSize)")
        }
        let act = try json.choice("activation_fn", default: "gelu-approximate",
                                  allowed: ["gelu", "gelu-approximate", "geglu"])
        activation = FeedForwardActivation(rawValue: act)!
        if json.isNull("num_embeds_ada_norm") {
            throw json.invalid("num_embeds_ada_norm", "must be set for ada_norm_zero (class-conditional DiT)")
        }
        numEmbedsAdaNorm = try json.positiveInt("num_embeds_ada_norm", default: 1000)
        normElementwiseAffine = try json.bool("norm_elementwise_affine", default: false)
        normEps = try json.float("norm_eps", default: 1e-5)
    }
}
