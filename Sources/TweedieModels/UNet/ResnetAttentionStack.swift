import TweedieCore

/// The resnets of one U-Net level, each optionally followed by self-attention: built the same way by
/// `DownBlock2D` and `UpBlock2D`, which differ only in the resnets' input channels and in what surrounds the stack.
struct ResnetAttentionStack {
    let resnets: [ResnetBlock2D]
    /// Empty for levels without attention, else one per resnet.
    let attentions: [SpatialSelfAttention]

    /// `layers` resnets under `prefix.resnets.i` (input channels `inChannels(i)`), each followed by attention
    /// under `prefix.attentions.i` when `attentionHeadDim` is set.
    init(_ l: WeightLoader, _ prefix: String, layers: Int, inChannels: (Int) -> Int, outChannels: Int,
         attentionHeadDim: Int?, settings: ResnetBlock2D.Settings) throws {
        var resnets: [ResnetBlock2D] = []
        var attentions: [SpatialSelfAttention] = []
        for i in 0..<layers {
            resnets.append(try ResnetBlock2D(l, "\(prefix).resnets.\(i)", in: inChannels(i), out: outChannels,
                                             settings: settings))
            if let d = attentionHeadDim {
                attentions.append(try SpatialSelfAttention(
                    l, "\(prefix).attentions.\(i)", channels: outChannels, headDim: d,
                    normGroups: settings.groups, eps: settings.eps, rescale: settings.outputScale))
            }
        }
        self.resnets = resnets
        self.attentions = attentions
    }

    /// Number of resnets.
    var count: Int { resnets.count }

    /// Resnet `i` on `x`, then its attention when the level has one (each its own checkpointable layer).
    func layer(_ i: Int, _ s: ForwardScope, _ x: Variable, activatedTemb: Variable?) -> Variable {
        let h = s.resnet(resnets[i], x, activatedTemb: activatedTemb)
        guard !attentions.isEmpty else { return h }
        let a = attentions[i]
        return s.layer(a.prefix, [h]) { s, v in a(s, v[0]) }
    }
}

extension ForwardScope {
    /// A resnet as one checkpointable layer.
    func resnet(_ r: ResnetBlock2D, _ x: Variable, activatedTemb: Variable?) -> Variable {
        guard let temb = activatedTemb else { return layer(r.prefix, [x]) { s, v in r(s, v[0], activatedTemb: nil) } }
        return layer(r.prefix, [x, temb]) { s, v in r(s, v[0], activatedTemb: v[1]) }
    }
}
