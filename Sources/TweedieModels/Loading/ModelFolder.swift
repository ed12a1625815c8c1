import Foundation
import TweedieCore

/// A model loaded from a diffusers folder, with the facts `tweedie info` prints.
public enum LoadedModel {
    case unet(UNet2DModel)
    case dit(DiTTransformer2DModel)
    case vae(AutoencoderKL)

    /// The folder's `_class_name` as written in config.json.
    public var className: String { details.className }
    /// Elements over all weight tensors.
    public var parameterCount: Int {
        switch self {
        case .unet(let m): return m.parameterCount
        case .dit(let m): return m.parameterCount
        case .vae(let m): return m.parameterCount
        }
    }
    /// Number of tensors in the checkpoint.
    public var tensorCount: Int { details.tensorCount }
    /// Stored dtype -> number of tensors with it (e.g. ["F32": 120]).
    public var dtypes: [String: Int] { details.dtypes }
    /// The config.json text exactly as read.
    public var configJSON: String { details.configJSON }
    /// The network as a denoiser; nil for an autoencoder.
    public var diffusionModel: DiffusionModel? {
        switch self {
        case .unet(let m): return m
        case .dit(let m): return m
        case .vae: return nil
        }
    }

    private var details: ModelFolderInfo {
        switch self {
        case .unet(let m): return m.folderInfo
        case .dit(let m): return m.folderInfo
        case .vae(let m): return m.folderInfo
        }
    }
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

/// Loads diffusers-format model folders: `config.json` + `diffusion_pytorch_model.safetensors`.
public enum ModelFolder {
    /// The config file inside a folder.
    public static let configFile = "config.json"
    /// The checkpoint file inside a folder.
    public static let weightsFile = "diffusion_pytorch_model.safetensors"

    /// Class names this engine builds.
    public static let supportedClasses = ["UNet2DModel", "DiTTransformer2DModel", "Transformer2DModel",
                                          "AutoencoderKL"]

    /// Reads the folder's config, builds the network `_class_name` names and fills it from the checkpoint.
    /// A missing, unexpected or mis-shaped tensor, a missing required config field or an unsupported value is
    /// `badInput` naming the file and the tensor or field.
    public static func load(_ directory: String) throws -> LoadedModel {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw TweedieError.badInput("\(directory): not a model folder (expected a directory with \(configFile) "
                                        + "and \(weightsFile))")
        }
        let configPath = (directory as NSString).appendingPathComponent(configFile)
        let weightsPath = (directory as NSString).appendingPathComponent(weightsFile)
        let json = try JSONConfig(path: configPath)
        let className = try json.requireString("_class_name")
        guard supportedClasses.contains(className) else {
            throw json.invalid("_class_name", "unsupported model class \"\(className)\" "
                               + "(supported: \(supportedClasses.joined(separator: ", ")))")
        }
        // Validate the config before touching the (much larger) checkpoint.
        enum Parsed { case unet(UNet2DConfig), dit(DiTConfig), vae(AutoencoderKLConfig) }
        let parsed: Parsed
        switch className {
        case "UNet2DModel": parsed = .unet(try UNet2DConfig(json: json))
        case "AutoencoderKL": parsed = .vae(try AutoencoderKLConfig(json: json))
        default: parsed = .dit(try DiTConfig(json: json, className: className))
        }
        let file = try SafeTensorsFile(path: weightsPath)
        let store = WeightStore(file: file)
        let model: LoadedModel
        switch parsed {
        case .unet(let c): model = .unet(try UNet2DModel(config: c, store: store, configPath: configPath))
        case .dit(let c): model = .dit(try DiTTransformer2DModel(config: c, store: store))
        case .vae(let c): model = .vae(try AutoencoderKL(config: c, store: store))
        }
        try store.finish(modelName: className)
        let info = ModelFolderInfo(className: className, tensorCount: file.names.count, dtypes: store.dtypes,
                                   configJSON: json.text)
        switch model {
        case .unet(let m): m.folderInfo = info
        case .dit(let m): m.folderInfo = info
        case .vae(let m): m.folderInfo = info
        }
        return model
    }
}
