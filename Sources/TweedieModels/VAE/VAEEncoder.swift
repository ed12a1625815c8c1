import TweedieCore

/// diffusers' VAE Encoder (double_z): conv_in, DownEncoderBlock2Ds (stride-2 convs with asymmetric padding),
/// mid block with single-head attention, GroupNorm -> SiLU -> conv_out to 2 x latent channels.
struct VAEEncoder {
    let convIn: Conv2d
    let downBlocks: [DownBlock2D]
    let midBlock: MidBlock2D
    let normOut: GroupNorm
    let convOut: Conv2d

    init(_ l: WeightLoader, _ prefix: String, config c: AutoencoderKLConfig) throws {
        let chs = c.blockOutChannels
        let resnet = ResnetBlock2D.Settings(groups: c.normNumGroups, eps: 1e-6, act: c.actFn,
                                            conditioning: .default, tembChannels: nil)
        convIn = try Conv2d(l, prefix + ".conv_in", in: c.inChannels, out: chs[0], kernel: 3, padding: 1)
        var blocks: [DownBlock2D] = []
        var channels = chs[0]
        for i in chs.indices {
            let spec = DownBlock2D.Spec(layers: c.layersPerBlock, inChannels: channels, outChannels: chs[i],
                                        attentionHeadDim: nil, resnet: resnet,
                                        downsample: i == chs.count - 1 ? nil : "conv", downsamplePadding: 0)
            blocks.append(try DownBlock2D(l, "\(prefix).down_blocks.\(i)", spec))
            channels = chs[i]
        }
        downBlocks = blocks
        midBlock = try MidBlock2D(l, prefix + ".mid_block", channels: channels, resnet: resnet,
                                  attentionHeadDim: c.midBlockAddAttention ? channels : nil,
                                  attentionGroups: c.normNumGroups)
        normOut = try GroupNorm(l, prefix + ".conv_norm_out", channels: channels, groups: c.normNumGroups,
                                eps: 1e-6)
        convOut = try Conv2d(l, prefix + ".conv_out", in: channels, out: 2 * c.latentChannels, kernel: 3,
                             padding: 1)
    }

    /// image [N, C, H, W] -> moments [N, 2 x latent, H/f, W/f].
    func callAsFunction(_ s: ForwardScope, _ x: Variable) -> Variable {
        var h = convIn(s, x)
        var unused: [Variable] = []
        for block in downBlocks {
            h = block(s, h, activatedTemb: nil, skips: &unused)
            unused.removeAll(keepingCapacity: true)
        }
        h = midBlock(s, h, activatedTemb: nil)
        return convOut(s, s.tape.silu(normOut(s, h)))
    }
}
