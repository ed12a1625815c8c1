import Foundation
import TweedieCore

/// A denoising network the trainer can differentiate, export and sample from: `UNet2DModel` or
/// `DiTTransformer2DModel` (each written once over the tape). Parameters travel as (diffusers name, tensor) lists
/// in `parameterShapes` order.
public protocol DifferentiableDiffusionNetwork: AnyObject, NamedParameterList {
    /// diffusers' `_class_name` for an exported config.json.
    var className: String { get }
    /// Every parameter as (diffusers name, shape), in the order the inference model loads them.
    var parameterShapes: [(name: String, shape: [Int])] { get }
    /// Elements over all parameters.
    var parameterCount: Int { get }
    /// [C, H, W] of one training sample (the config's in_channels and sample_size).
    var sampleShape: [Int] { get }
    /// Channels of the raw output: C, or 2C when the network also predicts a variance (learned sigma).
    var outChannels: Int { get }
    /// Number of class ids the network reads, the last being the null class of guidance; nil when unconditional.
    var classIDCount: Int? { get }
    /// Whether the network's layers are recomputed in the backward pass.
    var checkpointing: Bool { get set }
    /// The table the forward pass reads (the trainer's variables replace its tensors).
    var weights: ModelWeights { get }

    /// Nil when the network fits data with `classes` real classes (nil: unconditional data) plus a null class,
    /// else a message naming the config field to change.
    func classMismatch(classes: Int?) -> String?
    /// Fresh parameters drawn from `seed` under diffusers' names.
    func initialParameters(seed: UInt64) throws -> [(String, Tensor)]
    /// Throws `badInput` naming the first missing, mis-shaped or unexpected parameter.
    func validate(_ shapes: [String: [Int]], source: String) throws
    /// The raw network output for `sample` [N, C, H, W], recorded on `tape`; `parameters` maps every name in
    /// `parameterShapes` to a variable of `tape` (leaves that require gradients for training, constants otherwise).
    func forward(_ tape: Tape, parameters: [String: Variable], sample: Variable, timesteps: [Float],
                 classLabels: [Int]?) throws -> Variable
    /// The inference model holding `weights` (e.g. EMA weights, for sample grids).
    func inferenceModel(weights: [(String, Tensor)]) throws -> DiffusionModel
}

/// Builds the differentiable network a diffusers config describes, through the model-kind registry: any kind whose
/// model is a `DifferentiableDiffusionNetwork` trains (today UNet2DModel and DiT).
public enum DifferentiableNetworks {
    /// The network of config.json text `json` by its `_class_name` (UNet2DModel when absent); `source` names the
    /// config in errors.
    public static func make(configJSON json: String, source: String,
                            checkpointing: Bool = false) throws -> DifferentiableDiffusionNetwork {
        let config = try JSONConfig(data: Data(json.utf8), path: source)
        let className = try config.string("_class_name", default: "UNet2DModel")
        guard let kind = ModelRegistry.kind(of: className),
              let made = try kind.prepare(config: config, className: className)(zeroStore()) as? DifferentiableDiffusionNetwork else {
            throw config.invalid("_class_name", "cannot train \"\(className)\" (the trainable kinds are "
                                 + "UNet2DModel and DiTTransformer2DModel/Transformer2DModel)")
        }
        var net = made
        net.checkpointing = checkpointing
        return net
    }

    /// A source answering every tensor a network asks for with zeros: building over it enumerates exactly the
    /// tensors a checkpoint of the config holds, under the names diffusers saves.
    static func zeroStore() -> WeightStore {
        WeightStore(source: InitializingWeightSource(seed: 0) { _, _, _ in .constant(0) })
    }
}

extension DifferentiableDiffusionNetwork where Self: DiffusionModel {
    public var parameterShapes: [(name: String, shape: [Int])] { weights.shapes }

    /// The forward pass on the tape with the trainer's variables (checked against `parameterShapes` first).
    public func forward(_ tape: Tape, parameters: [String: Variable], sample: Variable, timesteps: [Float],
                        classLabels: [Int]?) throws -> Variable {
        try validate(parameters.mapValues(\.shape), source: className)
        return try forward(ForwardScope(tape: tape, weights: weights, given: parameters), sample: sample,
                           timesteps: timesteps, classLabels: classLabels)
    }
}

extension UNet2DModel: DifferentiableDiffusionNetwork {
    /// The network `config` describes with zero weights (its parameters come from the trainer's table).
    public static func network(config: UNet2DConfig, checkpointing: Bool = false) throws -> UNet2DModel {
        let net = try UNet2DModel(config: config, store: DifferentiableNetworks.zeroStore(), configPath: "<config>")
        net.checkpointing = checkpointing
        return net
    }

    public var className: String { "UNet2DModel" }
    public var classIDCount: Int? {
        if case .table(let n) = config.classEmbedding { return n }
        return nil
    }

    public func classMismatch(classes: Int?) -> String? {
        switch (config.classEmbedding, classes) {
        case (.none, nil): return nil
        case (.table(let n), let c?) where n == c + 1: return nil
        case (_, let c?): return "num_class_embeds must be \(c + 1) (classes + null)"
        case (_, nil): return "num_class_embeds must be absent (unconditional data)"
        }
    }

    /// Freshly initialised parameters with PyTorch's module defaults (see `InitializingWeightSource`), drawn from
    /// `seed`, under diffusers' names.
    public static func initialParameters(config: UNet2DConfig, seed: UInt64) throws -> [(String, Tensor)] {
        let source = InitializingWeightSource(seed: seed)
        _ = try UNet2DModel(config: config, store: WeightStore(source: source), configPath: "<config>")
        return source.parameters
    }

    public func initialParameters(seed: UInt64) throws -> [(String, Tensor)] {
        try Self.initialParameters(config: config, seed: seed)
    }

    public func inferenceModel(weights: [(String, Tensor)]) throws -> DiffusionModel {
        try UNet2DModel(config: config, store: WeightStore(source: TensorTableSource(weights)),
                        configPath: "<training config>")
    }
}

extension DiTTransformer2DModel: DifferentiableDiffusionNetwork {
    /// The network `config` describes with zero weights (its parameters come from the trainer's table).
    public static func network(config: DiTConfig, checkpointing: Bool = false) throws -> DiTTransformer2DModel {
        let net = try DiTTransformer2DModel(config: config, store: DifferentiableNetworks.zeroStore())
        net.checkpointing = checkpointing
        return net
    }

    public var className: String { "DiTTransformer2DModel" }
    /// The real classes plus the extra null row diffusers' DiT keeps for guidance.
    public var classIDCount: Int? { config.numEmbedsAdaNorm + 1 }

    public func classMismatch(classes: Int?) -> String? {
        guard let c = classes else { return "a DiT is class-conditional; the data has no classes" }
        return config.numEmbedsAdaNorm == c ? nil
            : "num_embeds_ada_norm must be \(c) (the classes; the null class is the table's extra row)"
    }

    /// Fresh parameters under diffusers' names with DiT's adaLN-Zero initialisation (`DiTInitialisation`: the
    /// blocks start as the identity and the output at zero), drawn from `seed`.
    public static func initialParameters(config: DiTConfig, seed: UInt64) throws -> [(String, Tensor)] {
        let source = InitializingWeightSource(seed: seed, rule: DiTInitialisation.rule)
        _ = try DiTTransformer2DModel(config: config, store: WeightStore(source: source))
        return source.parameters
    }

    public func initialParameters(seed: UInt64) throws -> [(String, Tensor)] {
        try Self.initialParameters(config: config, seed: seed)
    }

    public func inferenceModel(weights: [(String, Tensor)]) throws -> DiffusionModel {
        try DiTTransformer2DModel(config: config, store: WeightStore(source: TensorTableSource(weights)))
    }
}
