import TweedieCore

/// diffusers' DiTTransformer2DModel (also built from the older Transformer2DModel DiT config): patch embedding
/// with fixed 2-D sin-cos positions, adaLN-Zero transformer blocks conditioned on timestep and class label,
/// a final adaLN modulation (from the first block's conditioning, as diffusers does) and unpatchify.
/// Written once over the tape, like `UNet2DModel`: inference, training and gradients run the same layers.
public final class DiTTransformer2DModel: DiffusionModel, LoadedModel {
    /// The config the network was built from.
    public let config: DiTConfig
    /// [C, H, W] from `in_channels` and `sample_size`.
    public var sampleShape: [Int] { [config.inChannels, config.sampleSize, config.sampleSize] }
    /// Channels of the latent input.
    public var inChannels: Int { config.inChannels }
    /// Channels of the raw output (2 x in with learned sigma).
    public var outChannels: Int { config.outChannels }
    /// Number of real classes; label `numClassEmbeds` itself is the null class used for guidance.
    public var numClassEmbeds: Int? { config.numEmbedsAdaNorm }
    /// Elements over all loaded weight tensors.
    public let parameterCount: Int
    /// The parameters (and weight providers) every forward pass reads.
    public let weights: ModelWeights
    /// Recompute each block's attention and feed-forward in the backward pass (training memory).
    public var checkpointing = false
    /// Checkpoint facts (class name, tensor count, dtypes, config text) for `tweedie info`.
    public var folderInfo: ModelFolderInfo

    private let patchEmbed: Conv2d
    private let posEmbed: Tensor
    let blocks: [DiTBlock]
    private let projOut1: Linear
    private let projOut2: Linear

    /// Builds the network described by `config` from `store`.
    public init(config c: DiTConfig, store: WeightStore) throws {
        config = c
        let d = c.innerDim, p = c.patchSize
        let l = WeightLoader(store)
        patchEmbed = try Conv2d(l, "pos_embed.proj", in: c.inChannels, out: d, kernel: p, stride: p)
        posEmbed = sincos2DPositionalEmbedding(embedDim: d, gridSize: c.sampleSize / p, baseSize: c.sampleSize / p,
                                               interpolationScale: 1)
        blocks = try (0..<c.numLayers).map { try DiTBlock(l, "transformer_blocks.\($0)", config: c) }
        projOut1 = try Linear(l, "proj_out_1", in: d, out: 2 * d)
        projOut2 = try Linear(l, "proj_out_2", in: d, out: p * p * c.outChannels)
        weights = l.weights
        parameterCount = store.parameterCount
        folderInfo = ModelFolderInfo(className: "DiTTransformer2DModel", store: store)
    }

    /// diffusers' DiT keeps one extra embedding row (id num_embeds_ada_norm) for the unconditional pass.
    public var classConditioning: ClassConditioning {
        ClassConditioning(table: .ids(config.numEmbedsAdaNorm), defaultNull: config.numEmbedsAdaNorm, nullPastTable: true)
    }

    /// The raw output [N, out_channels, H, W] of `sample` [N, C, H, W] (square, side divisible by the patch)
    /// recorded on `scope`'s tape; class labels in 0...num_embeds_ada_norm (the last is the null class).
    public func forward(_ scope: ForwardScope, sample: Variable, timesteps: [Float],
                        classLabels: [Int]?) throws -> Variable {
        let name = "DiTTransformer2DModel", tape = scope.tape
        let times = try ForwardInputs.timesteps(sample.shape, timesteps, channels: config.inChannels, model: name)
        let n = sample.shape[0], size = sample.shape[2], p = config.patchSize
        guard sample.shape[3] == size, size % p == 0 else {
            throw TweedieError.badInput("\(name): sample must be square with a side divisible by the patch size "
                                        + "\(p), got \(sample.shape[2])x\(sample.shape[3])")
        }
        // The range comes from the tables computed with (null row included): textual inversion appends concept rows.
        let rows = blocks.first.map { scope.param($0.prefix + ".norm1.emb.class_embedder.embedding_table.weight").shape[0] }
        let labels = try ForwardInputs.labels(classLabels, batch: n, count: rows ?? config.numEmbedsAdaNorm + 1,
                                              model: name)
        let grid = size / p
        let pos = size == config.sampleSize ? posEmbed
            : sincos2DPositionalEmbedding(embedDim: config.innerDim, gridSize: grid,
                                          baseSize: config.sampleSize / p, interpolationScale: 1)
        var x = tape.addRows(tape.nchwToNLC(patchEmbed(scope, sample)), tape.constant(pos))
        let tproj = tape.constant(timestepEmbedding(times, dim: DiTBlock.timestepProjDim, flipSinToCos: true,
                                                    downscaleFreqShift: 1))
        var first: Variable? = nil
        for block in blocks {
            let cond = block.conditioning(scope, timestepProj: tproj, labels: labels)
            if first == nil { first = cond }
            x = scope.checkpoint(checkpointing, prefixes: block.bodyPrefixes, inputs: [x, cond]) { s, v in
                block(s, v[0], conditioning: v[1])
            }
        }
        // diffusers conditions the final layer on the first block's embedding.
        let mod = tape.chunk(projOut1(scope, tape.silu(first!)), 2, axis: 1)
        x = projOut2(scope, tape.modulate(tape.layerNorm(x, eps: 1e-6), shift: mod[0], scale: mod[1]))
        // Unpatchify, diffusers' einsum "nhwpqc->nchpwq".
        let out = config.outChannels
        let patched = tape.reshape(x, [n, grid, grid, p, p, out])
        return tape.reshape(tape.permute(patched, [0, 5, 1, 3, 2, 4]), [n, out, size, size])
    }
}
