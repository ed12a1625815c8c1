import TweedieCore

extension DiTTransformer2DModel: PrunableModel {
    /// Every block's attention heads and feed-forward neurons, in load order.
    public var prunableGroups: [PrunableGroup] {
        blocks.flatMap { b -> [PrunableGroup] in
            let a = b.prefix + ".attn1"
            let producers = ["to_q", "to_k", "to_v"].flatMap { n in
                [PrunableGroup.Producer(name: "\(a).\(n).weight", blocks: 1),
                 PrunableGroup.Producer(name: "\(a).\(n).bias", blocks: 1)]
            }
            let halves = config.activation == .geglu ? 2 : 1
            return [
                PrunableGroup(consumer: a + ".to_out.0", unitSize: b.headDim, count: b.heads, rowsPerUnit: b.headDim,
                              producers: producers, kind: "head"),
                PrunableGroup(consumer: b.prefix + ".ff.net.2", unitSize: 1, count: b.ffInner, rowsPerUnit: 1,
                              producers: [.init(name: b.prefix + ".ff.net.0.proj.weight", blocks: halves),
                                          .init(name: b.prefix + ".ff.net.0.proj.bias", blocks: halves)],
                              kind: "neuron"),
            ]
        }
    }
}
