import TweedieCore

/// How a linear or convolution layer computes with its weight in a forward pass. A layer without a provider uses
/// its stored `<prefix>.weight` and `<prefix>.bias`; a provider may add a low-rank path (LoRA), compute from int8
/// storage, or gate units. Providers read their own tensors through the scope by name, so a checkpointed region
/// and the trainer see them like any other parameter.
public protocol WeightProvider: AnyObject {
    /// y = x·Wᵀ + b over the last dimension of `x` for the linear layer at `prefix`.
    func linear(_ prefix: String, _ x: Variable, in scope: ForwardScope) -> Variable
    /// The convolution at `prefix` of `x` [N, I, H, W].
    func conv2d(_ prefix: String, _ x: Variable, stride: Int, padding: Int, in scope: ForwardScope) -> Variable
}
