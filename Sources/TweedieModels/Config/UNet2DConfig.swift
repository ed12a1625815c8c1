import TweedieCore

/// The parts of a diffusers `UNet2DModel` config.json this engine runs. Keys the file leaves out take diffusers'
/// defaults; a value this engine does not implement (block type, embedding type, ...) is `badInput` naming the
/// file and the field.
public struct UNet2DConfig {
    /// Down-path block kinds (diffusers' "UNetRes" prefix is accepted and dropped).
    public enum DownBlockType: String { case plain = "DownBlock2D", attention = "AttnDownBlock2D" }
    /// Up-path block kinds.
    public enum UpBlockType: String { case plain = "UpBlock2D", attention = "AttnUpBlock2D" }
    /// How class labels enter: a learned table (`num_class_embeds`) or a timestep-style MLP
    /// (`class_embed_type: "timestep"`).
    public enum ClassEmbedding: Equatable { case none, table(count: Int), timestep }

    /// Sample height and width the model was trained on.
    public var sampleSize: (height: Int, width: Int)?
    /// Channels of the input sample (`in_channels`).
    public var inChannels: Int
    /// Channels of the output (`out_channels`; 2 x in for learned variance).
    public var outChannels: Int
    /// Maps input x to 2x - 1 before the first convolution.
    public var centerInputSample: Bool
    /// Width of the time embedding (diffusers: block_out_channels[0] * 4 unless `time_embedding_dim`).
    public var timeEmbedDim: Int
    /// Sinusoid order cos, sin (`flip_sin_to_cos`).
    public var flipSinToCos: Bool
    /// `freq_shift`: downscale_freq_shift of the sinusoidal time embedding.
    public var freqShift: Float
    /// Block kind per level, top to bottom.
    public var downBlockTypes: [DownBlockType]
    /// Block kind per level, bottom to top.
    public var upBlockTypes: [UpBlockType]
    /// Whether a UNetMidBlock2D sits between the paths (`mid_block_type` null removes it).
    public var hasMidBlock: Bool
    /// Channels per resolution level.
    public var blockOutChannels: [Int]
    /// Resnets per down block (up blocks have one more).
    public var layersPerBlock: Int
    /// Output scale factor of the mid block's resnets and attention.
    public var midBlockScaleFactor: Float
    /// Padding of the stride-2 downsampling convolution (0: asymmetric pad first).
    public var downsamplePadding: Int
    /// "conv" or "resnet" (resnet resampling only applies to attention blocks, as in diffusers).
    public var downsampleType: String
    /// "conv" or "resnet" (resnet resampling only applies to attention blocks).
    public var upsampleType: String
    /// Nonlinearity of the resnets and of their time-embedding input.
    public var actFn: Activation
    /// Channels per attention head; nil means one head over all channels.
    public var attentionHeadDim: Int?
    /// GroupNorm groups of resnets, attention blocks and the output norm.
    public var normNumGroups: Int
    /// Group count of the mid block's attention norm; nil means no norm there.
    public var midAttentionGroups: Int?
    /// Epsilon of those norms.
    public var normEps: Float
    /// How resnets take the time embedding.
    public var resnetTimeScaleShift: ResnetBlock2D.TimeConditioning
    /// Whether the mid block has its attention layer.
    public var addAttention: Bool
    /// How class labels are embedded, if at all.
    public var classEmbedding: ClassEmbedding

    /// Reads and validates `json`.
    public init(json: JSONConfig) throws {
        sampleSize = try json.sampleSize("sample_size")
        inChannels = try json.positiveInt("in_channels", default: 3)
        outChannels = try json.positiveInt("out_channels", default: 3)
        centerInputSample = try json.bool("center_input_sample", default: false)
        _ = try json.choice("time_embedding_type", default: "positional", allowed: ["positional"])
        flipSinToCos = try json.bool("flip_sin_to_cos", default: true)
        freqShift = try json.float("freq_shift", default: 0)

        func stripped(_ s: String) -> String { s.hasPrefix("UNetRes") ? String(s.dropFirst(7)) : s }
        let down = try json.strings("down_block_types",
                                    default: ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"])
        downBlockTypes = try down.map { name in
            guard let t = DownBlockType(rawValue: stripped(name)) else {
                throw json.invalid("down_block_types", "unsupported block type \"\(name)\" "
                                   + "(supported: DownBlock2D, AttnDownBlock2D)")
            }
            return t
        }
        let up = try json.strings("up_block_types",
                                  default: ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"])
        upBlockTypes = try up.map { name in
            guard let t = UpBlockType(rawValue: stripped(name)) else {
                throw json.invalid("up_block_types", "unsupported block type \"\(name)\" "
                                   + "(supported: UpBlock2D, AttnUpBlock2D)")
            }
            return t
        }
        if json.isNull("mid_block_type") {
            hasMidBlock = false
        } else {
            _ = try json.choice("mid_block_type", default: "UNetMidBlock2D", allowed: ["UNetMidBlock2D"])
            hasMidBlock = true
        }
        blockOutChannels = try json.ints("block_out_channels", default: [224, 448, 672, 896])
        guard !blockOutChannels.isEmpty, blockOutChannels.allSatisfy({ $0 > 0 }) else {
            throw json.invalid("block_out_channels", "expected positive channel counts, got \(blockOutChannels)")
        }
        guard downBlockTypes.count == blockOutChannels.count else {
            throw json.invalid("down_block_types", "\(downBlockTypes.count) blocks for "
                               + "\(blockOutChannels.count) block_out_channels")
        }
        guard upBlockTypes.count == downBlockTypes.count else {
            throw json.invalid("up_block_types", "\(upBlockTypes.count) blocks for \(downBlockTypes.count) down blocks")
        }
        timeEmbedDim = try json.int("time_embedding_dim") ?? blockOutChannels[0] * 4
        layersPerBlock = try json.positiveInt("layers_per_block", default: 2)
        midBlockScaleFactor = try json.float("mid_block_scale_factor", default: 1)
        downsamplePadding = try json.int("downsample_padding", default: 1)
        guard downsamplePadding == 0 || downsamplePadding == 1 else {
            throw json.invalid("downsample_padding", "unsupported value \(downsamplePadding) (supported: 0, 1)")
        }
        downsampleType = try json.choice("downsample_type", default: "conv", allowed: ["conv", "resnet"])
        upsampleType = try json.choice("upsample_type", default: "conv", allowed: ["conv", "resnet"])
        actFn = try json.activation("act_fn", default: "silu")
        switch try json.nullableInt("attention_head_dim") {
        case .absent: attentionHeadDim = 8
        case .null: attentionHeadDim = nil
        case .value(let d): attentionHeadDim = d
        }
        if json.isNull("norm_num_groups") {
            throw json.invalid("norm_num_groups", "null is not supported (the resnets need a group count)")
        }
        normNumGroups = try json.positiveInt("norm_num_groups", default: 32)
        normEps = try json.float("norm_eps", default: 1e-5)
        let shift = try json.choice("resnet_time_scale_shift", default: "default", allowed: ["default", "scale_shift"])
        resnetTimeScaleShift = ResnetBlock2D.TimeConditioning(rawValue: shift)!
        // diffusers' UNetMidBlock2D: without attn_norm_num_groups, the attention gets a group norm only with
        // "default" time conditioning.
        midAttentionGroups = try json.int("attn_norm_num_groups")
            ?? (resnetTimeScaleShift == .default ? normNumGroups : nil)
        addAttention = try json.bool("add_attention", default: true)

        let classType = try json.string("class_embed_type")
        let classCount = try json.int("num_class_embeds")
        switch classType {
        case nil:
            if let n = classCount {
                guard n > 0 else { throw json.invalid("num_class_embeds", "must be positive, got \(n)") }
                classEmbedding = .table(count: n)
            } else {
                classEmbedding = .none
            }
        case "timestep":
            classEmbedding = .timestep
        default:
            throw json.invalid("class_embed_type", "unsupported value \"\(classType!)\" (supported: null, timestep)")
        }
        try validateChannels(json)
    }

    /// Group and head counts must divide the channels they split, as PyTorch would insist at construction.
    private func validateChannels(_ json: JSONConfig) throws {
        for c in blockOutChannels where c % normNumGroups != 0 {
            throw json.invalid("norm_num_groups", "\(normNumGroups) groups do not divide \(c) channels "
                               + "(block_out_channels \(blockOutChannels))")
        }
        let last = blockOutChannels[blockOutChannels.count - 1]
        if hasMidBlock && addAttention, let g = midAttentionGroups, g <= 0 || last % g != 0 {
            throw json.invalid("attn_norm_num_groups", "\(g) groups do not divide \(last) channels")
        }
        if let d = attentionHeadDim {
            guard d > 0 else { throw json.invalid("attention_head_dim", "must be positive, got \(d)") }
            var attended = Set<Int>()
            for (i, t) in downBlockTypes.enumerated() where t == .attention { attended.insert(blockOutChannels[i]) }
            let reversed = Array(blockOutChannels.reversed())
            for (i, t) in upBlockTypes.enumerated() where t == .attention { attended.insert(reversed[i]) }
            if hasMidBlock && addAttention { attended.insert(last) }
            if let c = attended.sorted().first, d > c {
                throw json.invalid("attention_head_dim", "\(d) exceeds the \(c) channels of an attention block")
            }
        }
    }
}
