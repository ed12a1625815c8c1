import Foundation
import TweedieCore

/// What every model loaded from a folder offers, whatever its kind: the facts `tweedie info` prints and its
/// parameters. What a model can do is said by the protocols it also adopts (`DiffusionModel`, `LatentAutoencoder`,
/// `ImageClassifier`), so commands ask for a capability, never for a kind.
public protocol LoadedModel: AnyObject {
    /// Checkpoint facts (class name, tensor count, dtypes, config text).
    var folderInfo: ModelFolderInfo { get set }
    /// Elements over all weight tensors.
    var parameterCount: Int { get }
    /// The parameters every forward pass reads.
    var weights: ModelWeights { get }
}

extension LoadedModel {
    /// The folder's `_class_name` as written in config.json.
    public var className: String { folderInfo.className }
    /// Number of tensors in the checkpoint.
    public var tensorCount: Int { folderInfo.tensorCount }
    /// Stored dtype -> number of tensors with it (e.g. ["F32": 120]).
    public var dtypes: [String: Int] { folderInfo.dtypes }
    /// The config.json text exactly as read.
    public var configJSON: String { folderInfo.configJSON }
    /// The model as a denoiser; nil for an autoencoder or a classifier.
    public var diffusionModel: DiffusionModel? { self as? DiffusionModel }
}

/// An image autoencoder with a latent space (AutoencoderKL).
public protocol LatentAutoencoder: LoadedModel {
    /// image [N, C, H, W] in [-1, 1] -> latent mean.
    func encode(_ image: Tensor) throws -> Tensor
    /// latent -> image in [-1, 1].
    func decode(_ latent: Tensor) throws -> Tensor
    /// [C, h, w] of the latent of one image at `height` x `width`.
    func latentShape(height: Int, width: Int) -> [Int]
}

/// Where a model came from: the facts `tweedie info` prints.
public struct ModelFolderInfo: Sendable {
    /// `_class_name` from config.json (the Swift type name when built without a folder).
    public var className: String
    /// Number of tensors in the checkpoint.
    public var tensorCount: Int
    /// Stored dtype -> number of tensors with it.
    public var dtypes: [String: Int]
    /// The config.json text exactly as read (empty when built without a folder).
    public var configJSON: String

    /// Facts about the checkpoint behind `store`, before the config text is known.
    init(className: String, store: WeightStore) {
        self.init(className: className, tensorCount: store.file.names.count, dtypes: store.dtypes, configJSON: "")
    }

    init(className: String, tensorCount: Int, dtypes: [String: Int], configJSON: String) {
        self.className = className
        self.tensorCount = tensorCount
        self.dtypes = dtypes
        self.configJSON = configJSON
    }
}
