import TweedieCore

/// The resnets of one U-Net level, each optionally followed by self-attention: built the same way by
/// `DownBlock2D` and `UpBlock2D`, which differ only in the resnets' input channels and in what surrounds the stack.
struct ResnetAttentionStack {
    let resnets: [ResnetBlock2D]
    /// Empty for levels without attention, else one per resnet.
    let attentions: [SpatialSelfAttention]

    /// `layers` resnets under `prefix.resnets.i` (input channels `inChannels(i)`), each followed by attention
    /// under `prefix.attentions.i` when `attentionHeadDim` is set.
    init(_ store: WeightStore, _ prefix: String, layers: Int, inChannels: (Int) -> Int, outChannels: Int,
         attentionHeadDim: Int?, settings: ResnetBlock2D.Settings) throws {
        var resnets: [ResnetBlock2D] = []
        var attentions: [SpatialSelfAttention] = []
        for i in 0..<layers {
            resnets.append(try ResnetBlock2D(store, "\(prefix).resnets.\(i)", in: inChannels(i), out: outChannels,
                                             settings: settings))
            if let d = attentionHeadDim {
                attentions.append(try SpatialSelfAttention(
                    store, "\(prefix).attentions.\(i)", channels: outChannels, headDim: d,
                    normGroups: settings.groups, eps: settings.eps, rescale: settings.outputScale))
            }
        }
        self.resnets = resnets
        self.attentions = attentions
    }

    /// Number of resnets.
    var count: Int { resnets.count }

    /// Resnet `i` on `x`, then its attention when the level has one.
    func layer(_ i: Int, _ x: Tensor, activatedTemb: Tensor?) -> Tensor {
        let h = resnets[i](x, activatedTemb: activatedTemb)
        return attentions.isEmpty ? h : attentions[i](h)
    }
}
