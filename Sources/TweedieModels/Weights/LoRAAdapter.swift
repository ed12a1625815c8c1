import TweedieCore

/// A LoRA adapter apart from any model: per layer the factors A [r, in(, k, k)] and B [out, r(, 1, 1)] and the
/// alpha of peft's scale alpha / r, as `LoRAAdapterFile` stores them. `check` tells whether it fits a model
/// (naming the first layer that does not), `merge` folds it into the model's weights at a strength, and
/// `init(from:)` collects the factors a fine-tuning run trained.
public struct LoRAAdapter: Equatable {
    /// One adapted layer.
    public struct Layer: Equatable {
        /// The layer's diffusers name, e.g. "mid_block.attentions.0.to_q".
        public var prefix: String
        public var a: Tensor
        public var b: Tensor
        /// peft's lora_alpha of this layer.
        public var alpha: Float

        /// A layer's factors.
        public init(prefix: String, a: Tensor, b: Tensor, alpha: Float) {
            self.prefix = prefix; self.a = a; self.b = b; self.alpha = alpha
        }

        /// Inner dimension r.
        public var rank: Int { a.shape[0] }
        /// The update (alpha / r)·scale·B·A in the layout of a weight shaped `weightShape`.
        public func update(weightShape: [Int], scale: Float) -> Tensor {
            let out = b.shape[0], inner = a.count / rank
            let ba = matmul(b.reshaped([out, rank]), a.reshaped([rank, inner]))
            return TweedieCore.scale(ba, alpha / Float(rank) * scale).reshaped(weightShape)
        }
    }

    /// The adapted layers, sorted by name.
    public var layers: [Layer]
    /// `_class_name` of the model it was trained on (UNet2DModel, DiTTransformer2DModel), if known.
    public var className: String?
    /// Free-form facts a trainer records (base model, its weights' SHA-256, reward, steps), stored as metadata.
    public var info: [String: String]

    /// An adapter from its layers.
    public init(layers: [Layer], className: String? = nil, info: [String: String] = [:]) {
        self.layers = layers.sorted { $0.prefix < $1.prefix }
        self.className = className
        self.info = info
    }

    /// The factors under `<prefix>.lora_A/B.weight` of the layers `weights` has LoRA providers on (what a
    /// fine-tuning run trained), with each provider's alpha.
    public init(from weights: ModelWeights, className: String? = nil, info: [String: String] = [:]) {
        let layers = weights.providers.compactMap { prefix, provider -> Layer? in
            guard let lora = provider as? LoRAWeights, let a = weights.tensors[prefix + ".lora_A.weight"],
                  let b = weights.tensors[prefix + ".lora_B.weight"] else { return nil }
            return Layer(prefix: prefix, a: a, b: b, alpha: lora.alpha)
        }
        self.init(layers: layers, className: className, info: info)
    }

    /// Elements over all factors.
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.a.count + $1.b.count } }

    /// Throws `badInput` unless every layer is a linear or convolution layer of `weights` with matching shapes,
    /// and (when both are known) the adapter was made for `className`. The message names `source`, the first
    /// offending layer and how many more do not fit.
    public func check(against weights: ModelWeights, className model: String?, source: String) throws {
        if let mine = className, let model, mine != model {
            throw TweedieError.badInput("\(source): a LoRA for \(mine), the model is \(model)")
        }
        let dense = Set(weights.denseLayers)
        var problems: [String] = []
        for layer in layers {
            guard dense.contains(layer.prefix), let w = weights.tensors[layer.prefix + ".weight"] else {
                problems.append("layer '\(layer.prefix)' is not a linear or convolution layer of the model")
                continue
            }
            let kernel = Array(w.shape.dropFirst(2))
            let wantA = [layer.rank, w.shape[1]] + kernel, wantB = [w.shape[0], layer.rank] + kernel.map { _ in 1 }
            if layer.a.shape != wantA || layer.b.shape != wantB {
                problems.append("layer '\(layer.prefix)' has lora_A \(layer.a.shape) and lora_B \(layer.b.shape), the "
                                + "model's weight \(w.shape) needs \(wantA) and \(wantB)")
            }
        }
        guard let first = problems.first else { return }
        let count = problems.count > 1 ? " (\(problems.count) of its \(layers.count) layers do not fit)" : ""
        throw TweedieError.badInput("\(source): \(first)\(count)")
    }

    /// Folds the adapter into `weights` at strength `scale` (W += scale·(alpha/r)·B·A for every layer), after
    /// checking that it fits (nothing changes when it does not). Merged, the model runs at plain speed; several
    /// adapters merge one after the other.
    public func merge(into weights: ModelWeights, scale: Float, className: String?, source: String) throws {
        guard scale.isFinite, scale >= 0 else {
            throw TweedieError.badInput("\(source): LoRA scale must be a finite number >= 0, got \(scale)")
        }
        try check(against: weights, className: className, source: source)
        guard scale != 0 else { return }
        for layer in layers {
            let name = layer.prefix + ".weight"
            let w = weights.tensors[name]!
            weights.insert(name, TweedieCore.add(w, layer.update(weightShape: w.shape, scale: scale)))
        }
    }
}
