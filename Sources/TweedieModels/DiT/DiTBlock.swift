import TweedieCore

/// One DiT block (diffusers' BasicTransformerBlock with `norm_type="ada_norm_zero"`): its own
/// timestep+label embedding, adaLN-Zero modulation of self-attention and feed-forward, gated residuals.
struct DiTBlock {
    /// "transformer_blocks.<i>".
    let prefix: String
    let timestepMLP: TimestepMLP
    let adaLinear: Linear
    let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    /// Attention heads of this block (fewer than the config's after pruning).
    let heads: Int
    /// Channels per head (the config's).
    let headDim: Int
    /// Hidden neurons of the feed-forward (4·D unless pruned).
    let ffInner: Int
    let normEps: Float
    let ffIn: Linear, ffOut: Linear
    let activation: DiTConfig.FeedForwardActivation

    /// Width of diffusers' CombinedTimestepLabelEmbeddings sinusoid.
    static let timestepProjDim = 256

    init(_ l: WeightLoader, _ prefix: String, config c: DiTConfig) throws {
        let d = c.innerDim
        self.prefix = prefix
        timestepMLP = try TimestepMLP(l, prefix + ".norm1.emb.timestep_embedder", in: Self.timestepProjDim,
                                      hidden: d, out: d)
        try l.load(prefix + ".norm1.emb.class_embedder.embedding_table.weight", shape: [c.numEmbedsAdaNorm + 1, d])
        adaLinear = try Linear(l, prefix + ".norm1.linear", in: d, out: 6 * d)
        // Widths come from the tensors, so a model narrowed by pruning loads like any other.
        headDim = d / c.numAttentionHeads
        let inner = l.storedDimension(prefix + ".attn1.to_q.weight", axis: 0, expected: [d, d])
        // 0 heads: the attention was pruned whole and its branch is to_out's bias (`prunedLinear`).
        guard inner >= 0, inner % headDim == 0 else {
            throw TweedieError.badInput("\(l.store.source.path): tensor '\(prefix).attn1.to_q.weight' has \(inner) "
                                        + "rows, not a multiple of the head size \(headDim)")
        }
        heads = inner / headDim
        toQ = try Linear(l, prefix + ".attn1.to_q", in: d, out: inner, bias: c.attentionBias)
        toK = try Linear(l, prefix + ".attn1.to_k", in: d, out: inner, bias: c.attentionBias)
        toV = try Linear(l, prefix + ".attn1.to_v", in: d, out: inner, bias: c.attentionBias)
        toOut = try Linear(l, prefix + ".attn1.to_out.0", in: inner, out: d)
        if c.normElementwiseAffine {
            try l.load(prefix + ".norm3.weight", shape: [d])
            try l.load(prefix + ".norm3.bias", shape: [d])
        }
        normEps = c.normEps
        let halves = c.activation == .geglu ? 2 : 1
        ffInner = l.storedDimension(prefix + ".ff.net.2.weight", axis: 1, expected: [d, 4 * d])
        ffIn = try Linear(l, prefix + ".ff.net.0.proj", in: d, out: halves * ffInner)
        ffOut = try Linear(l, prefix + ".ff.net.2", in: ffInner, out: d)
        activation = c.activation
    }

    /// Conditioning vector [N, D]: timestep MLP of the shared sinusoid `timestepProj` plus the label embedding.
    func conditioning(_ s: ForwardScope, timestepProj: Variable, labels: [Int]) -> Variable {
        let table = s.param(prefix + ".norm1.emb.class_embedder.embedding_table.weight")
        return s.tape.add(timestepMLP(s, timestepProj), s.tape.embedding(labels, table: table))
    }

    /// The parameters of the modulated attention and feed-forward: a checkpointed region's inputs (the block's
    /// embedder stays outside, as its output also feeds the final layer).
    var bodyPrefixes: [String] { [".norm1.linear", ".attn1", ".norm3", ".ff"].map { prefix + $0 } }

    /// x [N, L, D] with conditioning [N, D] -> [N, L, D].
    func callAsFunction(_ s: ForwardScope, _ x: Variable, conditioning: Variable) -> Variable {
        let t = s.tape
        let m = t.chunk(adaLinear(s, t.silu(conditioning)), 6, axis: 1)
        // m: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
        let n1 = t.modulate(t.layerNorm(x, eps: 1e-6), shift: m[0], scale: m[1])
        let a = heads == 0 ? s.prunedLinear(toOut.prefix, tokens: x.shape[0], x.shape[1], width: x.shape[2])
            : toOut(s, t.attention(q: toQ(s, n1), k: toK(s, n1), v: toV(s, n1), heads: heads))
        let h = t.add(t.gate(a, m[2]), x)
        let normed = t.layerNorm(h, weight: s.optionalParam(prefix + ".norm3.weight"),
                                 bias: s.optionalParam(prefix + ".norm3.bias"), eps: normEps)
        let n3 = t.modulate(normed, shift: m[3], scale: m[4])
        let f = ffInner == 0 ? s.prunedLinear(ffOut.prefix, tokens: x.shape[0], x.shape[1], width: x.shape[2])
            : ffOut(s, feedForwardActivation(t, ffIn(s, n3)))
        return t.add(t.gate(f, m[5]), h)
    }

    private func feedForwardActivation(_ t: Tape, _ x: Variable) -> Variable {
        switch activation {
        case .gelu: return t.gelu(x, approximate: false)
        case .geluApproximate: return t.gelu(x, approximate: true)
        case .geglu:
            let parts = t.chunk(x, 2, axis: x.shape.count - 1)
            return t.mul(parts[0], t.gelu(parts[1], approximate: false))
        }
    }
}
