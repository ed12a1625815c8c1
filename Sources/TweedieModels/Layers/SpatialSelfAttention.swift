import TweedieCore

/// The self-attention of diffusers' UNet and VAE blocks (`Attention` with `residual_connection=True`, created
/// `_from_deprecated_attn_block`): optional group norm, q/k/v projections over the H*W tokens, multi-head
/// attention, output projection, residual, then division by `rescale_output_factor`.
/// Old checkpoints name the projections query/key/value/proj_attn; both spellings load.
public struct SpatialSelfAttention {
    /// diffusers name of the block (its projections are `<prefix>.to_q` ... `<prefix>.to_out.0`).
    public let prefix: String
    let groupNorm: GroupNorm?
    let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    /// Number of heads (channels / head dim, fewer after pruning).
    public let heads: Int
    /// Channels per head.
    public let headDim: Int
    let rescale: Float

    /// Loads the attention at `prefix` over `channels` channels with heads of `headDim` channels
    /// (heads = channels / headDim, as diffusers computes it); `normGroups` nil means no group norm.
    public init(_ l: WeightLoader, _ prefix: String, channels: Int, headDim: Int, normGroups: Int?,
                eps: Float, rescale: Float) throws {
        precondition(channels / headDim > 0, "SpatialSelfAttention: head dim \(headDim) exceeds \(channels) channels")
        // The inner width comes from the tensors (fewer heads after pruning, 0 when pruned whole: the branch is then
        // to_out's bias), else channels / headDim heads.
        let inner = l.storedDimension(prefix + ".to_q.weight", axis: 0, expected: [channels / headDim * headDim, channels])
        guard inner >= 0, inner % headDim == 0 else {
            throw TweedieError.badInput("\(l.store.source.path): tensor '\(prefix).to_q.weight' has \(inner) rows, "
                                        + "not a multiple of the head size \(headDim)")
        }
        heads = inner / headDim
        self.headDim = headDim
        groupNorm = try normGroups.map {
            try GroupNorm(l, prefix + ".group_norm", channels: channels, groups: $0, eps: eps)
        }
        toQ = try Linear(l, prefix + ".to_q", in: channels, out: inner, legacyPrefix: prefix + ".query")
        toK = try Linear(l, prefix + ".to_k", in: channels, out: inner, legacyPrefix: prefix + ".key")
        toV = try Linear(l, prefix + ".to_v", in: channels, out: inner, legacyPrefix: prefix + ".value")
        toOut = try Linear(l, prefix + ".to_out.0", in: inner, out: channels, legacyPrefix: prefix + ".proj_attn")
        self.prefix = prefix
        self.rescale = rescale
    }

    /// x [N, C, H, W] -> same shape.
    public func callAsFunction(_ s: ForwardScope, _ x: Variable) -> Variable {
        let t = s.tape, h = x.shape[2], w = x.shape[3]
        if heads == 0 { return t.addDivided(s.prunedMap(toOut.prefix, shape: x.shape), x, divisor: rescale) }
        let tokens = t.nchwToNLC(groupNorm.map { $0(s, x) } ?? x)
        let a = t.attention(q: toQ(s, tokens), k: toK(s, tokens), v: toV(s, tokens), heads: heads)
        return t.addDivided(t.nlcToNCHW(toOut(s, a), height: h, width: w), x, divisor: rescale)
    }
}
