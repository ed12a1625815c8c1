import TweedieCore

/// One level of the contracting path: diffusers' DownBlock2D, AttnDownBlock2D and (without time embedding)
/// DownEncoderBlock2D. Resnets, each optionally followed by self-attention, then an optional downsampler.
struct DownBlock2D {
    /// How the block halves the resolution at its end.
    enum Downsampler {
        case none
        case conv(Downsample2D, prefix: String)
        case resnet(ResnetBlock2D)
    }

    /// Construction parameters of one block.
    struct Spec {
        var layers: Int
        var inChannels: Int
        var outChannels: Int
        /// Channels per head for attention after each resnet; nil for blocks without attention.
        var attentionHeadDim: Int?
        var resnet: ResnetBlock2D.Settings
        /// "conv" (with `downsamplePadding`), "resnet", or nil for the last block.
        var downsample: String?
        var downsamplePadding: Int
    }

    let stack: ResnetAttentionStack
    let downsampler: Downsampler

    init(_ l: WeightLoader, _ prefix: String, _ spec: Spec) throws {
        stack = try ResnetAttentionStack(l, prefix, layers: spec.layers,
                                         inChannels: { $0 == 0 ? spec.inChannels : spec.outChannels },
                                         outChannels: spec.outChannels, attentionHeadDim: spec.attentionHeadDim,
                                         settings: spec.resnet)
        let d = "\(prefix).downsamplers.0"
        switch spec.downsample {
        case nil:
            downsampler = .none
        case "resnet":
            downsampler = .resnet(try ResnetBlock2D(l, d, in: spec.outChannels, out: spec.outChannels,
                                                    settings: spec.resnet, resample: .down))
        default:
            downsampler = .conv(try Downsample2D(l, d, channels: spec.outChannels, outChannels: spec.outChannels,
                                                 padding: spec.downsamplePadding), prefix: d)
        }
    }

    /// Runs the block; every resnet(+attention) output and the downsampled output are appended to `skips`
    /// (the UNet's skip connections; the VAE encoder passes a scratch array).
    func callAsFunction(_ s: ForwardScope, _ x: Variable, activatedTemb: Variable?, skips: inout [Variable]) -> Variable {
        var h = x
        for i in 0..<stack.count {
            h = stack.layer(i, s, h, activatedTemb: activatedTemb)
            skips.append(h)
        }
        switch downsampler {
        case .none: return h
        case .conv(let d, let prefix): h = s.layer(prefix, [h]) { s, v in d(s, v[0]) }
        case .resnet(let r): h = s.resnet(r, h, activatedTemb: activatedTemb)
        }
        skips.append(h)
        return h
    }
}
