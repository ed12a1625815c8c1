import TweedieCore

/// LoRA (Hu et al. 2021, in peft's layout): the layer computes W·x + b + (alpha / rank)·scale·B·A·x, with
/// A [rank, in] and B [out, rank] for a linear layer, and for a convolution A [rank, in, k, k] (the layer's
/// kernel, stride and padding) followed by B [out, rank, 1, 1]. The factors live in the model's table as
/// `<prefix>.lora_A.weight` and `<prefix>.lora_B.weight`, so they train (and checkpoint) like any parameter while
/// the base weight stays frozen. `merge` folds the update into W for plain-speed inference; `unmerge` takes it out.
public final class LoRAWeights: WeightProvider {
    /// Inner dimension r of the update.
    public let rank: Int
    /// peft's lora_alpha: the update is scaled by alpha / rank.
    public let alpha: Float
    /// The user's strength (1: as trained; 0: the base model).
    public var scale: Float
    /// Whether the update is folded into the base weight (then the layer computes with W alone).
    public private(set) var merged = false

    /// The multiplier of B·A.
    public var factor: Float { alpha / Float(rank) * scale }

    /// A provider over factors already in the table under `<prefix>.lora_A/B.weight`.
    public init(rank: Int, alpha: Float, scale: Float = 1) {
        self.rank = rank
        self.alpha = alpha
        self.scale = scale
    }

    /// Adds fresh factors to the layer at `prefix` of `weights` and installs the provider: A kaiming-uniform
    /// (peft's default, bound √(1 / fan_in)·√3·√(2 / (1 + 5)) = 1/√fan_in), B zero, so the model is unchanged until
    /// B trains. A rank above the layer's smaller side is `badInput` naming the layer.
    @discardableResult
    public static func attach(to weights: ModelWeights, layer prefix: String, rank: Int, alpha: Float,
                              seed: UInt64) throws -> LoRAWeights {
        guard let w = weights.tensors[prefix + ".weight"] else {
            throw TweedieError.badInput("LoRA: no linear or convolution layer '\(prefix)'")
        }
        let out = w.shape[0], fanIn = w.count / out
        guard rank >= 1, rank <= min(out, w.shape[1]) else {
            throw TweedieError.badInput("LoRA: rank \(rank) for layer '\(prefix)' of shape \(w.shape) (at most "
                                        + "\(min(out, w.shape[1])))")
        }
        let kernel = Array(w.shape.dropFirst(2))
        let bound = 1 / Float(fanIn).squareRoot()
        let a = Tensor(shape: [rank, w.shape[1]] + kernel, data: (0..<(rank * fanIn)).map {
            (2 * CounterRandom.uniform(seed: seed, index: $0) - 1) * bound
        })
        weights.insert(prefix + ".lora_A.weight", a)
        weights.insert(prefix + ".lora_B.weight", Tensor(shape: [out, rank] + kernel.map { _ in 1 }))
        let p = LoRAWeights(rank: rank, alpha: alpha)
        weights.setProvider(p, for: prefix)
        return p
    }

    public func linear(_ prefix: String, _ x: Variable, in s: ForwardScope) -> Variable {
        let t = s.tape
        let base = t.linear(x, s.param(prefix + ".weight"), s.optionalParam(prefix + ".bias"))
        guard !merged, factor != 0 else { return base }
        let low = t.linear(t.linear(x, s.param(prefix + ".lora_A.weight")), s.param(prefix + ".lora_B.weight"))
        return t.add(base, t.scale(low, factor))
    }

    public func conv2d(_ prefix: String, _ x: Variable, stride: Int, padding: Int, in s: ForwardScope) -> Variable {
        let t = s.tape
        let base = t.conv2d(x, s.param(prefix + ".weight"), s.optionalParam(prefix + ".bias"), stride: stride,
                            padding: padding)
        guard !merged, factor != 0 else { return base }
        let down = t.conv2d(x, s.param(prefix + ".lora_A.weight"), nil, stride: stride, padding: padding)
        return t.add(base, t.scale(t.conv2d(down, s.param(prefix + ".lora_B.weight")), factor))
    }

    /// The update factor·B·A in the weight's layout.
    public func update(_ prefix: String, in weights: ModelWeights) -> Tensor {
        let a = weights.tensors[prefix + ".lora_A.weight"]!, b = weights.tensors[prefix + ".lora_B.weight"]!
        let w = weights.tensors[prefix + ".weight"]!
        let out = w.shape[0], inner = a.count / rank
        let ba = matmul(b.reshaped([out, rank]), a.reshaped([rank, inner]))
        return TweedieCore.scale(ba, factor).reshaped(w.shape)
    }

    /// Folds the update into the base weight (W += factor·B·A); the layer then runs at plain speed.
    public func merge(_ prefix: String, in weights: ModelWeights) {
        guard !merged else { return }
        weights.insert(prefix + ".weight", TweedieCore.add(weights.tensors[prefix + ".weight"]!, update(prefix, in: weights)))
        merged = true
    }

    /// Takes a merged update out again (W -= factor·B·A: the base weight back to rounding).
    public func unmerge(_ prefix: String, in weights: ModelWeights) {
        guard merged else { return }
        weights.insert(prefix + ".weight", TweedieCore.sub(weights.tensors[prefix + ".weight"]!, update(prefix, in: weights)))
        merged = false
    }
}
