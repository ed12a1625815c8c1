import TweedieCore

/// One level of the expanding path: diffusers' UpBlock2D, AttnUpBlock2D and (without skips or time embedding)
/// UpDecoderBlock2D. Each resnet first concatenates the newest skip connection along channels.
struct UpBlock2D {
    /// How the block doubles the resolution at its end.
    enum Upsampler {
        case none
        case conv(Upsample2D)
        case resnet(ResnetBlock2D)
    }

    /// Construction parameters of one block.
    struct Spec {
        var layers: Int
        /// Channels of the deepest skip this block consumes (diffusers' `in_channels`).
        var inChannels: Int
        var outChannels: Int
        /// Channels arriving from the previous up block.
        var prevOutputChannels: Int
        /// Whether resnets take skip connections (UNet) or not (VAE decoder).
        var takesSkips: Bool
        var attentionHeadDim: Int?
        var resnet: ResnetBlock2D.Settings
        /// "conv", "resnet", or nil for the last block.
        var upsample: String?
    }

    let resnets: [ResnetBlock2D]
    let attentions: [SpatialSelfAttention]
    let upsampler: Upsampler
    let takesSkips: Bool

    init(_ store: WeightStore, _ prefix: String, _ spec: Spec) throws {
        var resnets: [ResnetBlock2D] = []
        var attentions: [SpatialSelfAttention] = []
        for i in 0..<spec.layers {
            var cin = i == 0 ? spec.prevOutputChannels : spec.outChannels
            if spec.takesSkips { cin += i == spec.layers - 1 ? spec.inChannels : spec.outChannels }
            resnets.append(try ResnetBlock2D(store, "\(prefix).resnets.\(i)", in: cin, out: spec.outChannels,
                                             settings: spec.resnet))
            if let d = spec.attentionHeadDim {
                attentions.append(try SpatialSelfAttention(
                    store, "\(prefix).attentions.\(i)", channels: spec.outChannels, headDim: d,
                    normGroups: spec.resnet.groups, eps: spec.resnet.eps, rescale: spec.resnet.outputScale))
            }
        }
        switch spec.upsample {
        case nil:
            upsampler = .none
        case "resnet":
            upsampler = .resnet(try ResnetBlock2D(store, "\(prefix).upsamplers.0", in: spec.outChannels,
                                                  out: spec.outChannels, settings: spec.resnet, resample: .up))
        default:
            upsampler = .conv(try Upsample2D(store, "\(prefix).upsamplers.0", channels: spec.outChannels,
                                             outChannels: spec.outChannels))
        }
        self.resnets = resnets
        self.attentions = attentions
        takesSkips = spec.takesSkips
    }

    /// Number of skip connections the block consumes.
    var skipCount: Int { takesSkips ? resnets.count : 0 }

    /// Runs the block, popping one skip per resnet from the end of `skips` when the block takes skips.
    func callAsFunction(_ x: Tensor, activatedTemb: Tensor?, skips: inout [Tensor]) -> Tensor {
        var h = x
        for i in resnets.indices {
            if takesSkips { h = concat([h, skips.removeLast()], axis: 1) }
            h = resnets[i](h, activatedTemb: activatedTemb)
            if !attentions.isEmpty { h = attentions[i](h) }
        }
        switch upsampler {
        case .none: return h
        case .conv(let u): return u(h)
        case .resnet(let r): return r(h, activatedTemb: activatedTemb)
        }
    }
}
