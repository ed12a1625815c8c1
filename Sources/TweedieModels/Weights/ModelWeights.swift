import TweedieCore

/// A built model's parameters by diffusers name, in load order, and the weight provider of every linear or
/// convolution layer that does not use its stored Float32 weight as it is (LoRA, int8, gates).
///
/// Layers hold only names; each forward pass reads the tensors through a `ForwardScope`, so the same layer code
/// runs inference (constants), training (the trainer's leaves) and fine-tuning (providers with their own
/// trainable factors over frozen weights).
public final class ModelWeights {
    /// Parameter tensors by name.
    public private(set) var tensors: [String: Tensor] = [:]
    /// Parameter names in the order the model loaded them (the order of `parameterShapes`).
    public private(set) var order: [String] = []
    /// Weight providers by layer prefix (e.g. "down_blocks.0.resnets.0.conv1"); a layer without one computes with
    /// its `<prefix>.weight` and `<prefix>.bias` tensors.
    public private(set) var providers: [String: any WeightProvider] = [:]
    /// Prefixes of the model's linear and convolution layers, in load order (what LoRA, int8 and gates can act on).
    public private(set) var denseLayers: [String] = []

    /// An empty table (layers fill it while the model is built).
    public init() {}

    /// Loads `name` from `store` with `shape` (the legacy spelling is taken when `name` is absent) and files it
    /// under `name`.
    @discardableResult
    public func load(_ store: WeightStore, _ name: String, shape: [Int], legacyName: String? = nil) throws -> Tensor {
        let t = try store.tensor(name, shape: shape, legacyName: legacyName)
        insert(name, t)
        return t
    }

    /// Loads `name` when the store holds it (optional affine parameters), else nothing.
    public func loadOptional(_ store: WeightStore, _ name: String, shape: [Int]) throws {
        if let t = try store.optionalTensor(name, shape: shape) { insert(name, t) }
    }

    /// Files a tensor under `name` (replacing a tensor of the same name and shape keeps its place in `order`).
    public func insert(_ name: String, _ tensor: Tensor) {
        if tensors.updateValue(tensor, forKey: name) == nil { order.append(name) }
    }

    /// Removes `name` (e.g. the factors of an unmerged LoRA).
    public func remove(_ name: String) {
        guard tensors.removeValue(forKey: name) != nil else { return }
        order.removeAll { $0 == name }
    }

    /// Records that `prefix` is a linear or convolution layer (its `<prefix>.weight` is [out, in] or [O, I, k, k]).
    public func registerDense(_ prefix: String) { denseLayers.append(prefix) }

    /// Installs (or, with nil, removes) the provider of the layer at `prefix`.
    public func setProvider(_ provider: (any WeightProvider)?, for prefix: String) {
        providers[prefix] = provider
    }

    /// (name, shape) of every parameter in load order.
    public var shapes: [(name: String, shape: [Int])] { order.map { ($0, tensors[$0]!.shape) } }

    /// Elements over all parameters.
    public var parameterCount: Int { order.reduce(0) { $0 + tensors[$1]!.count } }

    /// The names under a layer or block prefix (`prefix` itself followed by "."), in load order.
    public func names(under prefix: String) -> [String] {
        let p = prefix + "."
        return order.filter { $0.hasPrefix(p) }
    }
}
