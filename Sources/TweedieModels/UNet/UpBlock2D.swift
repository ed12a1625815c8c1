import TweedieCore

/// One level of the expanding path: diffusers' UpBlock2D, AttnUpBlock2D and (without skips or time embedding)
/// UpDecoderBlock2D. Each resnet first concatenates the newest skip connection along channels.
struct UpBlock2D {
    /// How the block doubles the resolution at its end.
    enum Upsampler {
        case none
        case conv(Upsample2D, prefix: String)
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

    let stack: ResnetAttentionStack
    let upsampler: Upsampler
    let takesSkips: Bool

    init(_ l: WeightLoader, _ prefix: String, _ spec: Spec) throws {
        // Resnet i sees the previous output (the level below for i = 0) plus, in a UNet, the skip it pops: the
        // deepest skip of this level's partner down block comes last and has `inChannels`.
        stack = try ResnetAttentionStack(l, prefix, layers: spec.layers, inChannels: { i in
            (i == 0 ? spec.prevOutputChannels : spec.outChannels)
                + (spec.takesSkips ? (i == spec.layers - 1 ? spec.inChannels : spec.outChannels) : 0)
        }, outChannels: spec.outChannels, attentionHeadDim: spec.attentionHeadDim, settings: spec.resnet)
        let u = "\(prefix).upsamplers.0"
        switch spec.upsample {
        case nil:
            upsampler = .none
        case "resnet":
            upsampler = .resnet(try ResnetBlock2D(l, u, in: spec.outChannels, out: spec.outChannels,
                                                  settings: spec.resnet, resample: .up))
        default:
            upsampler = .conv(try Upsample2D(l, u, channels: spec.outChannels, outChannels: spec.outChannels),
                              prefix: u)
        }
        takesSkips = spec.takesSkips
    }

    /// Number of skip connections the block consumes.
    var skipCount: Int { takesSkips ? stack.count : 0 }

    /// Runs the block, popping one skip per resnet from the end of `skips` when the block takes skips.
    func callAsFunction(_ s: ForwardScope, _ x: Variable, activatedTemb: Variable?, skips: inout [Variable]) -> Variable {
        var h = x
        for i in 0..<stack.count {
            if takesSkips { h = s.tape.concat([h, skips.removeLast()], axis: 1) }
            h = stack.layer(i, s, h, activatedTemb: activatedTemb)
        }
        switch upsampler {
        case .none: return h
        case .conv(let u, let prefix): return s.layer(prefix, [h]) { s, v in u(s, v[0]) }
        case .resnet(let r): return s.resnet(r, h, activatedTemb: activatedTemb)
        }
    }
}
