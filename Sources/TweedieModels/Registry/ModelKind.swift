import TweedieCore

/// One kind of model, found by the `_class_name` of its config.json: how to read its config and build it from a
/// checkpoint. Adding a kind is one file with a `ModelKind` and one line in `ModelRegistry.builtIn` (or a
/// `ModelRegistry.register` call from outside the package).
public protocol ModelKind {
    /// The `_class_name` values this kind builds.
    static var classNames: [String] { get }
    /// The checkpoint file inside a folder of this kind.
    static var weightsFile: String { get }
    /// Parses and validates `config` (before the much larger checkpoint is opened) and returns a builder that
    /// makes the model from a weight store.
    static func prepare(config: JSONConfig, className: String) throws -> (WeightStore) throws -> LoadedModel
}

extension ModelKind {
    public static var weightsFile: String { "diffusion_pytorch_model.safetensors" }
}

/// UNet2DModel.
public enum UNet2DKind: ModelKind {
    public static let classNames = ["UNet2DModel"]
    public static func prepare(config: JSONConfig, className: String) throws -> (WeightStore) throws -> LoadedModel {
        let c = try UNet2DConfig(json: config)
        return { try UNet2DModel(config: c, store: $0, configPath: config.path) }
    }
}

/// DiTTransformer2DModel, also from the older Transformer2DModel DiT config.
public enum DiTKind: ModelKind {
    public static let classNames = ["DiTTransformer2DModel", "Transformer2DModel"]
    public static func prepare(config: JSONConfig, className: String) throws -> (WeightStore) throws -> LoadedModel {
        let c = try DiTConfig(json: config, className: className)
        return { try DiTTransformer2DModel(config: c, store: $0) }
    }
}

/// AutoencoderKL.
public enum AutoencoderKLKind: ModelKind {
    public static let classNames = ["AutoencoderKL"]
    public static func prepare(config: JSONConfig, className: String) throws -> (WeightStore) throws -> LoadedModel {
        let c = try AutoencoderKLConfig(json: config)
        return { try AutoencoderKL(config: c, store: $0) }
    }
}

/// Tweedie's image classifier (the samples' judge).
public enum TweedieClassifierKind: ModelKind {
    public static let classNames = [ClassifierConfig.className]
    public static var weightsFile: String { TweedieClassifier.weightsFile }
    public static func prepare(config: JSONConfig, className: String) throws -> (WeightStore) throws -> LoadedModel {
        let c = try ClassifierConfig(json: config)
        return { try TweedieClassifier(config: c, store: $0) }
    }
}
