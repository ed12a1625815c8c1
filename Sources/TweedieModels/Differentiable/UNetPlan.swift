import TweedieCore

/// The layer sequence of a UNet2DModel worked out once from its config: which resnets, attentions and
/// resamplers run at each level, with their static shapes and the parameter names each one owns (what a
/// checkpointed region must take as inputs).
struct UNetPlan {
    struct Layer {
        enum Kind {
            case resnet(TapeLayers.Resnet)
            case attention(TapeLayers.Attention)
            case downsample(padding: Int)
            case upsample
        }
        let prefix: String
        let kind: Kind
        let parameterNames: [String]

        func apply(_ t: Tape, _ p: TapeParameters, _ x: Variable, _ temb: Variable) -> Variable {
            switch kind {
            case .resnet(let s): return TapeLayers.resnet(t, p, prefix, s, x, temb: temb)
            case .attention(let s): return TapeLayers.attention(t, p, prefix, s, x)
            case .downsample(let padding): return TapeLayers.downsample(t, p, prefix, x, padding: padding)
            case .upsample: return TapeLayers.upsample(t, p, prefix, x)
            }
        }
    }

    struct Block {
        /// Resnets, each with the attention that follows it when the block has attention.
        var units: [(resnet: Layer, attention: Layer?)] = []
        var downsampler: Layer?
        var upsampler: Layer?
    }

    var down: [Block] = []
    var mid: [Layer] = []
    var up: [Block] = []

    /// Mirrors `UNet2DModel.init`; `names` are all parameter names (to give each layer its own).
    init(config c: UNet2DConfig, names: [String]) {
        func layer(_ prefix: String, _ kind: Layer.Kind) -> Layer {
            Layer(prefix: prefix, kind: kind, parameterNames: names.filter { $0.hasPrefix(prefix + ".") })
        }
        func resnet(_ cin: Int, _ cout: Int, scale: Float = 1,
                    resample: ResnetBlock2D.Resample = .none) -> Layer.Kind {
            .resnet(TapeLayers.Resnet(inChannels: cin, outChannels: cout, groups: c.normNumGroups, eps: c.normEps,
                                      act: c.actFn, conditioning: c.resnetTimeScaleShift, outputScale: scale,
                                      resample: resample))
        }
        func attention(_ channels: Int, groups: Int?, rescale: Float = 1) -> Layer.Kind {
            .attention(TapeLayers.Attention(heads: channels / (c.attentionHeadDim ?? channels), groups: groups,
                                            eps: c.normEps, rescale: rescale))
        }
        let levels = c.blockOutChannels.count
        var channels = c.blockOutChannels[0]
        for (i, type) in c.downBlockTypes.enumerated() {
            let out = c.blockOutChannels[i], prefix = "down_blocks.\(i)"
            var block = Block()
            for j in 0..<c.layersPerBlock {
                block.units.append((layer("\(prefix).resnets.\(j)", resnet(j == 0 ? channels : out, out)),
                                    type == .attention
                                        ? layer("\(prefix).attentions.\(j)", attention(out, groups: c.normNumGroups))
                                        : nil))
            }
            if i < levels - 1 {
                let d = "\(prefix).downsamplers.0"
                block.downsampler = type == .attention && c.downsampleType == "resnet"
                    ? layer(d, resnet(out, out, resample: .down))
                    : layer(d, .downsample(padding: c.downsamplePadding))
            }
            down.append(block)
            channels = out
        }
        let deepest = c.blockOutChannels[levels - 1]
        if c.hasMidBlock {
            let s = c.midBlockScaleFactor
            mid.append(layer("mid_block.resnets.0", resnet(deepest, deepest, scale: s)))
            if c.addAttention {
                mid.append(layer("mid_block.attentions.0",
                                 attention(deepest, groups: c.midAttentionGroups, rescale: s)))
            }
            mid.append(layer("mid_block.resnets.1", resnet(deepest, deepest, scale: s)))
        }
        let reversed = Array(c.blockOutChannels.reversed())
        var prev = reversed[0]
        for (i, type) in c.upBlockTypes.enumerated() {
            let out = reversed[i], skipIn = reversed[min(i + 1, levels - 1)], prefix = "up_blocks.\(i)"
            let count = c.layersPerBlock + 1
            var block = Block()
            for j in 0..<count {
                let cin = (j == 0 ? prev : out) + (j == count - 1 ? skipIn : out)
                block.units.append((layer("\(prefix).resnets.\(j)", resnet(cin, out)),
                                    type == .attention
                                        ? layer("\(prefix).attentions.\(j)", attention(out, groups: c.normNumGroups))
                                        : nil))
            }
            if i < levels - 1 {
                let u = "\(prefix).upsamplers.0"
                block.upsampler = type == .attention && c.upsampleType == "resnet"
                    ? layer(u, resnet(out, out, resample: .up)) : layer(u, .upsample)
            }
            up.append(block)
            prev = out
        }
    }
}
