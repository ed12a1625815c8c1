import TweedieCore

/// diffusers' UNet2DModel (DDPM-style pixel or latent UNet), built from its config and checkpoint.
/// Forward: optional centring, sinusoidal time embedding -> MLP (+ class embedding), conv_in, down blocks
/// collecting skips, mid block, up blocks consuming them, GroupNorm -> SiLU -> conv_out.
///
/// The network is written once, over the tape (`forward(_ scope:...)`): inference runs it with constant weights,
/// training with the trainer's leaves, and the same layers serve guidance and fine-tuning gradients.
public final class UNet2DModel: DiffusionModel, LoadedModel {
    /// The config the network was built from.
    public let config: UNet2DConfig
    /// [C, H, W] from `in_channels` and `sample_size`.
    public let sampleShape: [Int]
    /// Channels of the input sample.
    public var inChannels: Int { config.inChannels }
    /// Channels of the raw output.
    public var outChannels: Int { config.outChannels }
    /// Elements over all loaded weight tensors.
    public let parameterCount: Int
    /// The parameters (and weight providers) every forward pass reads.
    public let weights: ModelWeights
    /// Recompute each resnet, attention and resampler in the backward pass (training memory).
    public var checkpointing = false
    /// Checkpoint facts (class name, tensor count, dtypes, config text) for `tweedie info`.
    public var folderInfo: ModelFolderInfo

    private enum ClassEmbedder {
        case none
        case table(count: Int)
        case timestep(TimestepMLP)
    }

    private let convIn: Conv2d
    private let timeEmbedding: TimestepMLP
    private let classEmbedder: ClassEmbedder
    let downBlocks: [DownBlock2D]
    let midBlock: MidBlock2D?
    let upBlocks: [UpBlock2D]
    private let normOut: GroupNorm
    private let convOut: Conv2d

    /// Builds the network described by `config` from `store`; `configPath` names the config in errors.
    public init(config c: UNet2DConfig, store: WeightStore, configPath: String) throws {
        guard let size = c.sampleSize else {
            throw TweedieError.badInput("\(configPath): missing required field 'sample_size'")
        }
        let levels = c.blockOutChannels.count
        let factor = 1 << (levels - 1)
        guard size.height % factor == 0, size.width % factor == 0 else {
            throw TweedieError.badInput("\(configPath): field 'sample_size': \(size.height)x\(size.width) is not "
                                        + "divisible by \(factor) (\(levels) resolution levels)")
        }
        config = c
        sampleShape = [c.inChannels, size.height, size.width]
        let ch0 = c.blockOutChannels[0]
        let l = WeightLoader(store)
        convIn = try Conv2d(l, "conv_in", in: c.inChannels, out: ch0, kernel: 3, padding: 1)
        timeEmbedding = try TimestepMLP(l, "time_embedding", in: ch0, hidden: c.timeEmbedDim, out: c.timeEmbedDim)
        switch c.classEmbedding {
        case .none: classEmbedder = .none
        case .table(let n):
            try l.load("class_embedding.weight", shape: [n, c.timeEmbedDim])
            classEmbedder = .table(count: n)
        case .timestep:
            classEmbedder = .timestep(try TimestepMLP(l, "class_embedding", in: ch0, hidden: c.timeEmbedDim,
                                                      out: c.timeEmbedDim))
        }

        let resnet = ResnetBlock2D.Settings(groups: c.normNumGroups, eps: c.normEps, act: c.actFn,
                                            conditioning: c.resnetTimeScaleShift, tembChannels: c.timeEmbedDim)
        var down: [DownBlock2D] = []
        var channels = ch0
        for (i, type) in c.downBlockTypes.enumerated() {
            let out = c.blockOutChannels[i]
            let isLast = i == levels - 1
            let attention = type == .attention
            let spec = DownBlock2D.Spec(
                layers: c.layersPerBlock, inChannels: channels, outChannels: out,
                attentionHeadDim: attention ? (c.attentionHeadDim ?? out) : nil, resnet: resnet,
                downsample: isLast ? nil : (attention ? c.downsampleType : "conv"),
                downsamplePadding: c.downsamplePadding)
            down.append(try DownBlock2D(l, "down_blocks.\(i)", spec))
            channels = out
        }
        downBlocks = down

        let deepest = c.blockOutChannels[levels - 1]
        if c.hasMidBlock {
            var midResnet = resnet
            midResnet.outputScale = c.midBlockScaleFactor
            midBlock = try MidBlock2D(l, "mid_block", channels: deepest, resnet: midResnet,
                                      attentionHeadDim: c.addAttention ? (c.attentionHeadDim ?? deepest) : nil,
                                      attentionGroups: c.midAttentionGroups)
        } else {
            midBlock = nil
        }

        let reversed = Array(c.blockOutChannels.reversed())
        var up: [UpBlock2D] = []
        var prev = reversed[0]
        for (i, type) in c.upBlockTypes.enumerated() {
            let out = reversed[i]
            let isLast = i == levels - 1
            let attention = type == .attention
            let spec = UpBlock2D.Spec(
                layers: c.layersPerBlock + 1, inChannels: reversed[min(i + 1, levels - 1)], outChannels: out,
                prevOutputChannels: prev, takesSkips: true,
                attentionHeadDim: attention ? (c.attentionHeadDim ?? out) : nil, resnet: resnet,
                upsample: isLast ? nil : (attention ? c.upsampleType : "conv"))
            up.append(try UpBlock2D(l, "up_blocks.\(i)", spec))
            prev = out
        }
        upBlocks = up

        normOut = try GroupNorm(l, "conv_norm_out", channels: ch0, groups: c.normNumGroups, eps: c.normEps)
        convOut = try Conv2d(l, "conv_out", in: ch0, out: c.outChannels, kernel: 3, padding: 1)
        weights = l.weights
        parameterCount = store.parameterCount
        folderInfo = ModelFolderInfo(className: "UNet2DModel", store: store)
    }

    /// Class labels run through a table of this size; a timestep-style class embedding takes any label >= 0
    /// (reported as Int.max).
    public var numClassEmbeds: Int? {
        switch config.classEmbedding {
        case .none: return nil
        case .table(let n): return n
        case .timestep: return Int.max
        }
    }

    /// A class table of k ids keeps its last row (k - 1) as the null class when k >= 2, as Tweedie's trainer does.
    public var classConditioning: ClassConditioning {
        switch config.classEmbedding {
        case .none: return ClassConditioning(table: .none, defaultNull: nil, nullPastTable: false)
        case .table(let k): return ClassConditioning(table: .ids(k), defaultNull: k >= 2 ? k - 1 : nil, nullPastTable: false)
        case .timestep: return ClassConditioning(table: .any, defaultNull: nil, nullPastTable: false)
        }
    }

    /// The raw output [N, out, H, W] of `sample` [N, C, H, W] recorded on `scope`'s tape; one timestep per sample
    /// (or one for all), class labels for class-conditional models.
    public func forward(_ scope: ForwardScope, sample: Variable, timesteps: [Float],
                        classLabels: [Int]?) throws -> Variable {
        let name = "UNet2DModel", t = scope.tape
        guard sample.shape.count == 4 else {
            throw TweedieError.badInput("\(name): sample must be [N, C, H, W], got \(sample.shape)")
        }
        let times = try ForwardInputs.timesteps(sample.shape, timesteps, channels: config.inChannels, model: name)
        let n = sample.shape[0]
        let factor = 1 << (config.blockOutChannels.count - 1)
        guard sample.shape[2] % factor == 0, sample.shape[3] % factor == 0 else {
            throw TweedieError.badInput("\(name): sample size \(sample.shape[2])x\(sample.shape[3]) is not "
                                        + "divisible by \(factor)")
        }
        let ch0 = config.blockOutChannels[0]
        func sinusoid(_ values: [Float]) -> Variable {
            t.constant(timestepEmbedding(values, dim: ch0, flipSinToCos: config.flipSinToCos,
                                         downscaleFreqShift: config.freqShift))
        }
        var emb = timeEmbedding(scope, sinusoid(times))
        switch classEmbedder {
        case .none:
            if classLabels != nil {
                throw TweedieError.badInput("\(name): class labels given to an unconditional model")
            }
        case .table:
            // The range comes from the table computed with: textual inversion appends concept rows to it.
            let table = scope.param("class_embedding.weight")
            let labels = try ForwardInputs.labels(classLabels, batch: n, count: table.shape[0], model: name)
            emb = t.add(emb, t.embedding(labels, table: table))
        case .timestep(let mlp):
            let labels = try ForwardInputs.labels(classLabels, batch: n, count: nil, model: name)
            emb = t.add(emb, mlp(scope, sinusoid(labels.map { Float($0) })))
        }
        let temb = config.actFn(t, emb)

        var h = sample
        if config.centerInputSample { h = t.sub(t.scale(h, 2), t.constant(Tensor(shape: h.shape, repeating: 1))) }
        h = convIn(scope, h)
        scope.checkpointing = checkpointing
        defer { scope.checkpointing = false }
        var skips: [Variable] = [h]
        for block in downBlocks { h = block(scope, h, activatedTemb: temb, skips: &skips) }
        if let midBlock { h = midBlock(scope, h, activatedTemb: temb) }
        for block in upBlocks { h = block(scope, h, activatedTemb: temb, skips: &skips) }
        return convOut(scope, t.silu(normOut(scope, h)))
    }
}
