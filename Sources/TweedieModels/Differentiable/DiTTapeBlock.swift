import TweedieCore

/// One DiT block (diffusers' BasicTransformerBlock with adaLN-Zero) over the tape, mirroring the inference
/// `DiTBlock` op by op, so values agree with the inference model to rounding.
struct DiTTapeBlock {
    /// "transformer_blocks.<i>".
    let prefix: String
    let heads: Int
    let normEps: Float
    let activation: DiTConfig.FeedForwardActivation
    /// The parameters of the modulated attention and feed-forward (what a checkpointed region takes as inputs);
    /// the block's own timestep/label embedder stays outside, as its output also feeds the final layer.
    let bodyParameterNames: [String]

    init(index: Int, config c: DiTConfig, names: [String]) {
        let own = "transformer_blocks.\(index)"
        prefix = own
        heads = c.numAttentionHeads
        normEps = c.normEps
        activation = c.activation
        let embedder = own + ".norm1.emb."
        bodyParameterNames = names.filter { $0.hasPrefix(own + ".") && !$0.hasPrefix(embedder) }
    }

    /// Conditioning [N, D]: the block's timestep MLP over the shared sinusoid plus its label embedding.
    func conditioning(_ t: Tape, _ p: TapeParameters, timestepProj: Variable, labels: [Int]) -> Variable {
        let e = prefix + ".norm1.emb."
        let mlp = TapeLayers.linear(t, p, e + "timestep_embedder.linear_2",
                                    t.silu(TapeLayers.linear(t, p, e + "timestep_embedder.linear_1", timestepProj)))
        return t.add(mlp, t.embedding(labels, table: p[e + "class_embedder.embedding_table.weight"]))
    }

    /// x [N, L, D] with conditioning [N, D] -> [N, L, D].
    func body(_ t: Tape, _ p: TapeParameters, _ x: Variable, conditioning: Variable) -> Variable {
        let m = t.chunk(TapeLayers.linear(t, p, prefix + ".norm1.linear", t.silu(conditioning)), 6, axis: 1)
        // m: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
        let n1 = t.modulate(t.layerNorm(x, eps: 1e-6), shift: m[0], scale: m[1])
        let a = linear(t, p, ".attn1.to_out.0", t.attention(q: linear(t, p, ".attn1.to_q", n1),
                                                            k: linear(t, p, ".attn1.to_k", n1),
                                                            v: linear(t, p, ".attn1.to_v", n1), heads: heads))
        let h = t.add(t.gate(a, m[2]), x)
        let normed = t.layerNorm(h, weight: p.optional(prefix + ".norm3.weight"),
                                 bias: p.optional(prefix + ".norm3.bias"), eps: normEps)
        let n3 = t.modulate(normed, shift: m[3], scale: m[4])
        let ff = linear(t, p, ".ff.net.2", feedForwardActivation(t, linear(t, p, ".ff.net.0.proj", n3)))
        return t.add(t.gate(ff, m[5]), h)
    }

    /// A linear layer of this block whose bias may be absent (`attention_bias: false`).
    private func linear(_ t: Tape, _ p: TapeParameters, _ suffix: String, _ x: Variable) -> Variable {
        t.linear(x, p[prefix + suffix + ".weight"], p.optional(prefix + suffix + ".bias"))
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
