import TweedieCore

// The classifier as the trainer (and classifier guidance) sees it: its parameter list, fresh initial parameters,
// and logits on a tape with the caller's variables. The same layers as inference, written once.

extension TweedieClassifier: NamedParameterList {
    /// The network `config` describes, with zero weights: what the trainer differentiates.
    public static func network(config: ClassifierConfig) throws -> TweedieClassifier {
        try TweedieClassifier(config: config, store: DifferentiableNetworks.zeroStore())
    }

    /// Freshly initialised parameters with PyTorch's module defaults (kaiming-uniform convolutions and head, unit
    /// norm scales), drawn from `seed`, under the checkpoint names.
    public static func initialParameters(config: ClassifierConfig, seed: UInt64) throws -> [(String, Tensor)] {
        let source = InitializingWeightSource(seed: seed)
        _ = try TweedieClassifier(config: config, store: WeightStore(source: source))
        return source.parameters
    }

    /// Every parameter as (checkpoint name, shape), in load order.
    public var parameterShapes: [(name: String, shape: [Int])] { weights.shapes }

    /// Class logits [N, numClasses] of `images` [N, C, S, S] on `tape`; `parameters` maps every name in
    /// `parameterShapes` to a variable of `tape`.
    public func logits(_ tape: Tape, parameters: [String: Variable], images: Variable) throws -> Variable {
        try validate(parameters.mapValues(\.shape), source: "TweedieClassifier")
        return try logits(ForwardScope(tape: tape, weights: weights, given: parameters), images: images)
    }
}
