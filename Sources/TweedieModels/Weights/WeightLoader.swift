import TweedieCore

/// What a layer needs while a model is built: the checked source of tensors (`WeightStore`) and the table the
/// model computes from (`ModelWeights`). Layers load through it and keep only names.
public struct WeightLoader {
    /// Hands out the checkpoint's tensors with shape checks.
    public let store: WeightStore
    /// Receives every loaded tensor under its diffusers name.
    public let weights: ModelWeights

    /// A loader filling a fresh table from `store`.
    public init(_ store: WeightStore) {
        self.store = store
        weights = ModelWeights()
    }

    /// Loads `name` with `shape` (or its legacy spelling) into the table.
    @discardableResult
    public func load(_ name: String, shape: [Int], legacyName: String? = nil) throws -> Tensor {
        try weights.load(store, name, shape: shape, legacyName: legacyName)
    }

    /// Loads the weight [out, in] or [O, I, k, k] (and, with `bias`, the bias) of the linear or convolution layer at
    /// `prefix` and registers the layer as dense. A quantized checkpoint's I8 weight becomes the layer's
    /// `Int8Weights` provider and no Float32 copy of it is made; the bias stays Float32.
    public func loadDense(_ prefix: String, shape: [Int], bias: Bool, legacyPrefix: String? = nil) throws {
        if let q = try store.int8Weight(prefix, shape: shape) {
            weights.setProvider(q, for: prefix)
        } else {
            try load(prefix + ".weight", shape: shape, legacyName: legacyPrefix.map { $0 + ".weight" })
        }
        if bias { try load(prefix + ".bias", shape: [shape[0]], legacyName: legacyPrefix.map { $0 + ".bias" }) }
        weights.registerDense(prefix)
    }

    /// Loads `name` if the checkpoint (or generating source) has it.
    public func loadOptional(_ name: String, shape: [Int]) throws {
        try weights.loadOptional(store, name, shape: shape)
    }

    /// The size of axis `axis` of tensor `name` as the source holds it, or `expected[axis]` when the source would
    /// generate it: per-layer widths (heads, feed-forward neurons, resnet channels) of a narrowed model are read
    /// from its tensors rather than the uniform config.
    public func storedDimension(_ name: String, axis: Int, expected: [Int]) -> Int {
        guard let shape = store.source.lookup(name, expected: expected)?.shape, axis < shape.count else {
            return expected[axis]
        }
        return shape[axis]
    }
}
