import TweedieCore

/// `TweedieClassifier` as a differentiable function on a `Tape`: the same layers and kernels in the same order,
/// with every parameter read by its checkpoint name from a table of tape variables, so training gets gradients of
/// the weights and guidance gets gradients of the input.
///
///     let net = try DifferentiableClassifier(config: config)
///     let weights = try DifferentiableClassifier.initialParameters(config: config, seed: 0)
///     let tape = Tape()
///     let params = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, tape.leaf($0.1, requiresGrad: true)) })
///     let loss = tape.crossEntropy(try net.logits(tape, parameters: params, images: tape.constant(x)), labels: y)
public struct DifferentiableClassifier: NamedParameterList {
    /// The architecture.
    public let config: ClassifierConfig
    /// Every parameter as (checkpoint name, shape), in the order the inference model loads them.
    public let parameterShapes: [(name: String, shape: [Int])]

    /// The network `config` describes (validated).
    public init(config: ClassifierConfig) throws {
        self.config = config
        // Building the inference model over a generating source enumerates exactly the tensors a checkpoint holds.
        let source = InitializingWeightSource(seed: 0) { _, _, _ in .constant(0) }
        _ = try TweedieClassifier(config: config, store: WeightStore(source: source))
        parameterShapes = source.parameters.map { ($0.0, $0.1.shape) }
    }

    /// Freshly initialised parameters with PyTorch's module defaults (kaiming-uniform convolutions and head, unit
    /// norm scales), drawn from `seed`, under the checkpoint names.
    public static func initialParameters(config: ClassifierConfig, seed: UInt64) throws -> [(String, Tensor)] {
        let source = InitializingWeightSource(seed: seed)
        _ = try TweedieClassifier(config: config, store: WeightStore(source: source))
        return source.parameters
    }

    /// Class logits [N, numClasses] of `images` [N, C, S, S], recorded on `tape`. `parameters` maps every name in
    /// `parameterShapes` to a variable of `tape`.
    public func logits(_ tape: Tape, parameters: [String: Variable], images: Variable) throws -> Variable {
        try validate(parameters.mapValues(\.shape), source: "DifferentiableClassifier")
        let c = config
        let s = images.shape
        guard s.count == 4, s[0] >= 1, s[1] == c.inChannels, s[2] == c.sampleSize, s[3] == c.sampleSize else {
            throw TweedieError.badInput("DifferentiableClassifier: images must be [N, \(c.inChannels), "
                                        + "\(c.sampleSize), \(c.sampleSize)], got \(s)")
        }
        let p = TapeParameters(values: parameters)
        var h = images
        for i in c.blockOutChannels.indices {
            for j in 0..<c.layersPerBlock {
                let prefix = ClassifierNames.layer(i, j)
                h = TapeLayers.conv(tape, p, prefix + ".conv", h, padding: 1)
                h = tape.silu(TapeLayers.groupNorm(tape, p, prefix + ".norm", h, groups: c.normNumGroups,
                                                   eps: c.normEps))
            }
            if i < c.blockOutChannels.count - 1 { h = tape.avgPool2d(h, kernel: 2) }
        }
        let pooled = tape.reshape(tape.avgPool2d(h, kernel: c.finalSide), [h.shape[0], h.shape[1]])
        return TapeLayers.linear(tape, p, ClassifierNames.head, pooled)
    }
}
