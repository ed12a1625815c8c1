/// The initialisation of the DiT paper's reference code (`DiT.initialize_weights`), written for diffusers'
/// parameter names. diffusers' own DiTTransformer2DModel keeps PyTorch's module defaults, which start every
/// residual branch live; DiT's adaLN-Zero start makes each block the identity and the output zero, which is what
/// the paper trains from:
/// - every linear weight xavier-uniform (bound √(6 / (fan_in + fan_out))), every bias 0; the patch-embedding
///   convolution likewise on its [D, C·p·p] view;
/// - timestep-MLP weights and label tables N(0, 0.02²);
/// - adaLN modulation (`norm1.linear`), the final modulation `proj_out_1` and the final linear `proj_out_2` all 0;
/// - the optional feed-forward LayerNorm (`norm3`) scale 1, shift 0.
/// Differences from the reference: diffusers keeps one timestep/label embedder per block (the reference shares
/// one), each drawn independently here; q, k and v are separate layers, each xavier on its own [D, D] shape
/// (the reference draws the fused [3D, D] matrix).
public enum DiTInitialisation {
    /// The fill of tensor `name` with `shape` (an `InitializingWeightSource.Rule`).
    public static func rule(name: String, shape: [Int], weightShape: [Int]?) -> InitializingWeightSource.Fill {
        if name.hasSuffix(".bias") { return .constant(0) }
        if shape.count == 1 { return .constant(1) }
        if name.hasSuffix(".norm1.linear.weight") || name.hasPrefix("proj_out_") { return .constant(0) }
        if name.contains(".timestep_embedder.linear_") || name.hasSuffix(".embedding_table.weight") {
            return .normal(std: 0.02)
        }
        let fanOut = shape[0], fanIn = shape.dropFirst().reduce(1, *)
        return .uniform(bound: (6 / Float(fanIn + fanOut)).squareRoot())
    }
}
