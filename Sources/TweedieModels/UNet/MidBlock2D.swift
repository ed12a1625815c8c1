import TweedieCore

/// diffusers' UNetMidBlock2D (one layer): resnet, optional self-attention, resnet, all at the deepest width.
struct MidBlock2D {
    let first: ResnetBlock2D
    let attention: SpatialSelfAttention?
    let second: ResnetBlock2D

    /// `resnet.outputScale` is the block's `output_scale_factor` (also the attention's rescale factor);
    /// `attentionHeadDim` nil means no attention; `attentionGroups` nil means no norm before it.
    init(_ l: WeightLoader, _ prefix: String, channels: Int, resnet: ResnetBlock2D.Settings,
         attentionHeadDim: Int?, attentionGroups: Int?) throws {
        first = try ResnetBlock2D(l, prefix + ".resnets.0", in: channels, out: channels, settings: resnet)
        attention = try attentionHeadDim.map {
            try SpatialSelfAttention(l, prefix + ".attentions.0", channels: channels, headDim: $0,
                                     normGroups: attentionGroups, eps: resnet.eps, rescale: resnet.outputScale)
        }
        second = try ResnetBlock2D(l, prefix + ".resnets.1", in: channels, out: channels, settings: resnet)
    }

    func callAsFunction(_ s: ForwardScope, _ x: Variable, activatedTemb: Variable?) -> Variable {
        var h = s.resnet(first, x, activatedTemb: activatedTemb)
        if let attention { h = s.layer(attention.prefix, [h]) { s, v in attention(s, v[0]) } }
        return s.resnet(second, h, activatedTemb: activatedTemb)
    }
}
