import TweedieCore

/// One DiT block (diffusers' BasicTransformerBlock with `norm_type="ada_norm_zero"`): its own
/// timestep+label embedding, adaLN-Zero modulation of self-attention and feed-forward, gated residuals.
struct DiTBlock {
    let timestepMLP: TimestepMLP
    let classTable: Tensor
    let adaLinear: Linear
    let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    let heads: Int
    let norm3Weight: Tensor?, norm3Bias: Tensor?
    let normEps: Float
    let ffIn: Linear, ffOut: Linear
    let activation: DiTConfig.FeedForwardActivation

    /// Width of diffusers' CombinedTimestepLabelEmbeddings sinusoid.
    static let timestepProjDim = 256

    init(_ store: WeightStore, _ prefix: String, config c: DiTConfig) throws {
        let d = c.innerDim
        timestepMLP = try TimestepMLP(store, prefix + ".norm1.emb.timestep_embedder", in: Self.timestepProjDim,
                                      hidden: d, out: d)
        classTable = try store.tensor(prefix + ".norm1.emb.class_embedder.embedding_table.weight",
                                      shape: [c.numEmbedsAdaNorm + 1, d])
        adaLinear = try Linear(store, prefix + ".norm1.linear", in: d, out: 6 * d)
        toQ = try Linear(store, prefix + ".attn1.to_q", in: d, out: d, bias: c.attentionBias)
        toK = try Linear(store, prefix + ".attn1.to_k", in: d, out: d, bias: c.attentionBias)
        toV = try Linear(store, prefix + ".attn1.to_v", in: d, out: d, bias: c.attentionBias)
        toOut = try Linear(store, prefix + ".attn1.to_out.0", in: d, out: d)
        heads = c.numAttentionHeads
        if c.normElementwiseAffine {
            norm3Weight = try store.tensor(prefix + ".norm3.weight", shape: [d])
            norm3Bias = try store.tensor(prefix + ".norm3.bias", shape: [d])
        } else {
            norm3Weight = nil
            norm3Bias = nil
        }
        normEps = c.normEps
        let inner = 4 * d
        ffIn = try Linear(store, prefix + ".ff.net.0.proj", in: d, out: c.activation == .geglu ? 2 * inner : inner)
        ffOut = try Linear(store, prefix + ".ff.net.2", in: inner, out: d)
        activation = c.activation
    }

    /// Conditioning vector [N, D]: timestep MLP of the shared sinusoid `timestepProj` plus the label embedding.
    func conditioning(timestepProj: Tensor, labels: [Int]) -> Tensor {
        add(timestepMLP(timestepProj), embedding(labels, table: classTable))
    }

    /// x [N, L, D] with conditioning [N, D] -> [N, L, D].
    func callAsFunction(_ x: Tensor, conditioning: Tensor) -> Tensor {
        let m = chunk(adaLinear(silu(conditioning)), 6, axis: 1)
        // m: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
        let n1 = modulate(layerNorm(x, weight: nil, bias: nil, eps: 1e-6), shift: m[0], scale: m[1])
        let a = toOut(attention(q: toQ(n1), k: toK(n1), v: toV(n1), heads: heads))
        let h = add(gate(a, m[2]), x)
        let n3 = modulate(layerNorm(h, weight: norm3Weight, bias: norm3Bias, eps: normEps), shift: m[3], scale: m[4])
        return add(gate(ffOut(feedForwardActivation(ffIn(n3))), m[5]), h)
    }

    private func feedForwardActivation(_ x: Tensor) -> Tensor {
        switch activation {
        case .gelu: return gelu(x, approximate: false)
        case .geluApproximate: return gelu(x, approximate: true)
        case .geglu:
            let parts = chunk(x, 2, axis: x.rank - 1)
            return mul(parts[0], gelu(parts[1], approximate: false))
        }
    }
}
