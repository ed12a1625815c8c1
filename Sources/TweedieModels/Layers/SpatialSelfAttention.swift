import TweedieCore

/// The self-attention of diffusers' UNet and VAE blocks (`Attention` with `residual_connection=True`, created
/// `_from_deprecated_attn_block`): optional group norm, q/k/v projections over the H*W tokens, multi-head
/// attention, output projection, residual, then division by `rescale_output_factor`.
/// Old checkpoints name the projections query/key/value/proj_attn; both spellings load.
public struct SpatialSelfAttention {
    let groupNorm: GroupNorm?
    let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    let heads: Int
    let rescale: Float

    /// Loads the attention at `prefix` over `channels` channels with heads of `headDim` channels
    /// (heads = channels / headDim, as diffusers computes it); `normGroups` nil means no group norm.
    public init(_ store: WeightStore, _ prefix: String, channels: Int, headDim: Int, normGroups: Int?,
                eps: Float, rescale: Float) throws {
        heads = channels / headDim
        precondition(heads > 0, "SpatialSelfAttention: head dim \(headDim) exceeds \(channels) channels")
        let inner = heads * headDim
        groupNorm = try normGroups.map {
            try GroupNorm(store, prefix + ".group_norm", channels: channels, groups: $0, eps: eps)
        }
        toQ = try Linear(store, prefix + ".to_q", in: channels, out: inner, legacyPrefix: prefix + ".query")
        toK = try Linear(store, prefix + ".to_k", in: channels, out: inner, legacyPrefix: prefix + ".key")
        toV = try Linear(store, prefix + ".to_v", in: channels, out: inner, legacyPrefix: prefix + ".value")
        toOut = try Linear(store, prefix + ".to_out.0", in: inner, out: channels,
                           legacyPrefix: prefix + ".proj_attn")
        self.rescale = rescale
    }

    /// x [N, C, H, W] -> same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x.shape[2], w = x.shape[3]
        let tokens = nchwToNLC(groupNorm.map { $0(x) } ?? x)
        let a = attention(q: toQ(tokens), k: toK(tokens), v: toV(tokens), heads: heads)
        return addDivided(nlcToNCHW(toOut(a), height: h, width: w), x, divisor: rescale)
    }
}
