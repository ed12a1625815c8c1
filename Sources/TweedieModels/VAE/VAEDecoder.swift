import TweedieCore

/// diffusers' VAE Decoder: conv_in, mid block with single-head attention, UpDecoderBlock2Ds (layers + 1 resnets,
/// nearest 2x + conv), GroupNorm -> SiLU -> conv_out.
struct VAEDecoder {
    let convIn: Conv2d
    let midBlock: MidBlock2D
    let upBlocks: [UpBlock2D]
    let normOut: GroupNorm
    let convOut: Conv2d

    init(_ l: WeightLoader, _ prefix: String, config c: AutoencoderKLConfig) throws {
        let reversed = Array(c.blockOutChannels.reversed())
        let resnet = ResnetBlock2D.Settings(groups: c.normNumGroups, eps: 1e-6, act: c.actFn,
                                            conditioning: .default, tembChannels: nil)
        convIn = try Conv2d(l, prefix + ".conv_in", in: c.latentChannels, out: reversed[0], kernel: 3, padding: 1)
        midBlock = try MidBlock2D(l, prefix + ".mid_block", channels: reversed[0], resnet: resnet,
                                  attentionHeadDim: c.midBlockAddAttention ? reversed[0] : nil,
                                  attentionGroups: c.normNumGroups)
        var blocks: [UpBlock2D] = []
        var prev = reversed[0]
        for i in reversed.indices {
            let spec = UpBlock2D.Spec(layers: c.layersPerBlock + 1, inChannels: prev, outChannels: reversed[i],
                                      prevOutputChannels: prev, takesSkips: false, attentionHeadDim: nil,
                                      resnet: resnet, upsample: i == reversed.count - 1 ? nil : "conv")
            blocks.append(try UpBlock2D(l, "\(prefix).up_blocks.\(i)", spec))
            prev = reversed[i]
        }
        upBlocks = blocks
        normOut = try GroupNorm(l, prefix + ".conv_norm_out", channels: prev, groups: c.normNumGroups, eps: 1e-6)
        convOut = try Conv2d(l, prefix + ".conv_out", in: prev, out: c.outChannels, kernel: 3, padding: 1)
    }

    /// latent [N, L, h, w] (after post_quant_conv) -> image [N, C, h*f, w*f].
    func callAsFunction(_ s: ForwardScope, _ z: Variable) -> Variable {
        var h = midBlock(s, convIn(s, z), activatedTemb: nil)
        var none: [Variable] = []
        for block in upBlocks { h = block(s, h, activatedTemb: nil, skips: &none) }
        return convOut(s, s.tape.silu(normOut(s, h)))
    }
}
