import TweedieCore

extension UNet2DModel: PrunableModel {
    /// Every resnet's inner channels (by whole norm2 groups) and every attention's heads, in load order.
    public var prunableGroups: [PrunableGroup] {
        var resnets: [ResnetBlock2D] = []
        var attentions: [SpatialSelfAttention] = []
        func stack(_ s: ResnetAttentionStack) {
            for i in 0..<s.count {
                resnets.append(s.resnets[i])
                if !s.attentions.isEmpty { attentions.append(s.attentions[i]) }
            }
        }
        for b in downBlocks {
            stack(b.stack)
            if case .resnet(let r) = b.downsampler { resnets.append(r) }
        }
        if let m = midBlock {
            resnets.append(m.first)
            if let a = m.attention { attentions.append(a) }
            resnets.append(m.second)
        }
        for b in upBlocks {
            stack(b.stack)
            if case .resnet(let r) = b.upsampler { resnets.append(r) }
        }
        let shift = config.resnetTimeScaleShift == .scaleShift ? 2 : 1
        let r = resnets.map { r -> PrunableGroup in
            let p = r.prefix
            return PrunableGroup(
                consumer: p + ".conv2", unitSize: r.channelsPerGroup, count: r.innerChannels / r.channelsPerGroup,
                rowsPerUnit: r.channelsPerGroup,
                producers: [.init(name: p + ".conv1.weight", blocks: 1), .init(name: p + ".conv1.bias", blocks: 1),
                            .init(name: p + ".norm2.weight", blocks: 1), .init(name: p + ".norm2.bias", blocks: 1),
                            .init(name: p + ".time_emb_proj.weight", blocks: shift),
                            .init(name: p + ".time_emb_proj.bias", blocks: shift)],
                kind: "channel group")
        }
        let a = attentions.map { a -> PrunableGroup in
            let producers = ["to_q", "to_k", "to_v"].flatMap { n in
                [PrunableGroup.Producer(name: "\(a.prefix).\(n).weight", blocks: 1),
                 PrunableGroup.Producer(name: "\(a.prefix).\(n).bias", blocks: 1)]
            }
            return PrunableGroup(consumer: a.prefix + ".to_out.0", unitSize: a.headDim, count: a.heads,
                                 rowsPerUnit: a.headDim, producers: producers, kind: "head")
        }
        return r + a
    }
}
