import TweedieCore

/// diffusers' DiTTransformer2DModel (also built from the older Transformer2DModel DiT config): patch embedding
/// with fixed 2-D sin-cos positions, adaLN-Zero transformer blocks conditioned on timestep and class label,
/// a final adaLN modulation (from the first block's conditioning, as diffusers does) and unpatchify.
public final class DiTTransformer2DModel: DiffusionModel {
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
    /// Checkpoint facts (class name, tensor count, dtypes, config text) for `tweedie info`.
    public internal(set) var folderInfo: ModelFolderInfo

    private let patchEmbed: Conv2d
    private let posEmbed: Tensor
    private let blocks: [DiTBlock]
    private let projOut1: Linear
    private let projOut2: Linear

    /// Builds the network described by `config` from `store`.
    public init(config c: DiTConfig, store: WeightStore) throws {
        config = c
        let d = c.innerDim, p = c.patchSize
        patchEmbed = try Conv2d(store, "pos_embed.proj", in: c.inChannels, out: d, kernel: p, stride: p)
        posEmbed = sincos2DPositionalEmbedding(embedDim: d, gridSize: c.sampleSize / p, baseSize: c.sampleSize / p,
                                               interpolationScale: 1)
        blocks = try (0..<c.numLayers).map { try DiTBlock(store, "transformer_blocks.\($0)", config: c) }
        projOut1 = try Linear(store, "proj_out_1", in: d, out: 2 * d)
        projOut2 = try Linear(store, "proj_out_2", in: d, out: p * p * c.outChannels)
        parameterCount = store.parameterCount
        folderInfo = ModelFolderInfo(className: "DiTTransformer2DModel", store: store)
    }

    /// Runs the whole batch through the DiT; see `DiffusionModel.forward`.
    public func forward(_ sample: Tensor, timesteps: [Float], classLabels: [Int]?) throws -> Tensor {
        let name = "DiTTransformer2DModel"
        let t = try ForwardInputs.timesteps(sample, timesteps, channels: config.inChannels, model: name)
        let n = sample.shape[0], size = sample.shape[2], p = config.patchSize
        guard sample.shape[3] == size, size % p == 0 else {
            throw TweedieError.badInput("\(name): sample must be square with a side divisible by the patch size "
                                        + "\(p), got \(sample.shape[2])x\(sample.shape[3])")
        }
        let labels = try ForwardInputs.labels(classLabels, batch: n, count: config.numEmbedsAdaNorm + 1, model: name)
        let grid = size / p
        let pos = size == config.sampleSize ? posEmbed
            : sincos2DPositionalEmbedding(embedDim: config.innerDim, gridSize: grid,
                                          baseSize: config.sampleSize / p, interpolationScale: 1)
        var x = addRows(nchwToNLC(patchEmbed(sample)), pos)
        let tproj = timestepEmbedding(t, dim: DiTBlock.timestepProjDim, flipSinToCos: true, downscaleFreqShift: 1)
        var firstConditioning: Tensor? = nil
        for block in blocks {
            let cond = block.conditioning(timestepProj: tproj, labels: labels)
            if firstConditioning == nil { firstConditioning = cond }
            x = block(x, conditioning: cond)
        }
        let mod = chunk(projOut1(silu(firstConditioning!)), 2, axis: 1)
        x = projOut2(modulate(layerNorm(x, weight: nil, bias: nil, eps: 1e-6), shift: mod[0], scale: mod[1]))
        return unpatchify(x, grid: grid, patch: p, channels: config.outChannels)
    }
}

/// [N, h*w, p*p*C] tokens (each patch laid out (p, q, c)) -> [N, C, h*p, w*p]: diffusers' einsum
/// "nhwpqc->nchpwq".
func unpatchify(_ x: Tensor, grid: Int, patch p: Int, channels c: Int) -> Tensor {
    let n = x.shape[0], side = grid * p
    precondition(x.shape == [n, grid * grid, p * p * c], "unpatchify: unexpected token shape \(x.shape)")
    return Tensor(shape: [n, c, side, side]) { out in
        x.withUnsafeBufferPointer { src in
            let s = src.baseAddress!, o = out.baseAddress!
            parallelFor(n * c) { nc in
                let b = nc / c, ch = nc % c
                let dst = o + nc * side * side
                for y in 0..<side {
                    let hi = y / p, pi = y % p
                    for xx in 0..<side {
                        let wi = xx / p, qi = xx % p
                        dst[y * side + xx] = s[((b * grid + hi) * grid + wi) * p * p * c + (pi * p + qi) * c + ch]
                    }
                }
            }
        }
    }
}
