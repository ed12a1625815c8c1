import TweedieCore

/// diffusers' UNetMidBlock2D (one layer): resnet, optional self-attention, resnet, all at the deepest width.
struct MidBlock2D {
    let first: ResnetBlock2D
    let attention: SpatialSelfAttention?
    let second: ResnetBlock2D

    /// `resnet.outputScale` is the block's `output_scale_factor` (also the attention's rescale factor);
    /// `attentionHeadDim` nil means no attention; `attentionGroups` nil means no norm before it.
    init(_ store: WeightStore, _ prefix: String, channels: Int, resnet: ResnetBlock2D.Settings,
         attentionHeadDim: Int?, attentionGroups: Int?) throws {
        first = try ResnetBlock2D(store, prefix + ".resnets.0", in: channels, out: channels, settings: resnet)
        attention = try attentionHeadDim.map {
            try SpatialSelfAttention(store, prefix + ".attentions.0", channels: channels, headDim: $0,
                                     normGroups: attentionGroups, eps: resnet.eps, rescale: resnet.outputScale)
        }
        second = try ResnetBlock2D(store, prefix + ".resnets.1", in: channels, out: channels, settings: resnet)
    }

    func callAsFunction(_ x: Tensor, activatedTemb: Tensor?) -> Tensor {
        var h = first(x, activatedTemb: activatedTemb)
        if let attention { h = attention(h) }
        return second(h, activatedTemb: activatedTemb)
    }
}
