import TweedieCore
import TweedieModels

/// Checkpoint interpolation ("model soup", the original AlignProp code's `mixing_coef_1`): every LoRA factor
/// θ = α·θ_A + (1 − α)·θ_B over two adapters of the same layers, or, without a second adapter, θ = α·θ_A (the
/// official code's mix with the base model). The factors A and B are mixed separately, as the official code mixes
/// LoRA state dicts, so one adapter's update B·A scales by α², not α; for a linear move toward the base model,
/// load the adapter at strength α instead (`generate --lora FILE:α`).
public enum CheckpointSoup {
    /// The mixed adapter; adapters of other layers, ranks or alphas are `badInput` naming the first difference.
    public static func mix(_ a: LoRAAdapter, _ b: LoRAAdapter?, alpha: Float) throws -> LoRAAdapter {
        guard alpha.isFinite else { throw TweedieError.badInput("--alpha: must be a finite number, got \(alpha)") }
        var layers: [LoRAAdapter.Layer] = []
        if let b {
            if let c1 = a.className, let c2 = b.className, c1 != c2 {
                throw TweedieError.badInput("soup: the adapters are for \(c1) and \(c2)")
            }
            let other = Dictionary(uniqueKeysWithValues: b.layers.map { ($0.prefix, $0) })
            guard Set(other.keys) == Set(a.layers.map(\.prefix)) else {
                let only = Set(a.layers.map(\.prefix)).symmetricDifference(other.keys).sorted().first!
                throw TweedieError.badInput("soup: layer '\(only)' is in only one of the adapters")
            }
            for la in a.layers {
                let lb = other[la.prefix]!
                guard la.a.shape == lb.a.shape, la.b.shape == lb.b.shape, la.alpha == lb.alpha else {
                    throw TweedieError.badInput("soup: layer '\(la.prefix)' differs in rank, shape or alpha between "
                                                + "the adapters (\(la.a.shape), alpha \(la.alpha) vs \(lb.a.shape), "
                                                + "alpha \(lb.alpha))")
                }
                layers.append(.init(prefix: la.prefix, a: lerp(la.a, lb.a, alpha), b: lerp(la.b, lb.b, alpha),
                                    alpha: la.alpha))
            }
        } else {
            layers = a.layers.map { .init(prefix: $0.prefix, a: scale($0.a, alpha), b: scale($0.b, alpha), alpha: $0.alpha) }
        }
        var info = a.info
        info["soup_alpha"] = "\(alpha)"
        return LoRAAdapter(layers: layers, className: a.className, info: info)
    }

    /// α·x + (1 − α)·y.
    private static func lerp(_ x: Tensor, _ y: Tensor, _ alpha: Float) -> Tensor {
        Tensor(shape: x.shape, data: zip(x.data, y.data).map { alpha * $0 + (1 - alpha) * $1 })
    }
}
