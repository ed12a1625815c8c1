import Foundation
import TweedieCore

/// The model kinds this engine builds, by `_class_name`. Built in: UNet2DModel, DiTTransformer2DModel (and
/// Transformer2DModel), AutoencoderKL and TweedieClassifier; `register` adds a kind from outside the package.
public enum ModelRegistry {
    private static let builtIn: [any ModelKind.Type] = [
        UNet2DKind.self,
        DiTKind.self,
        AutoencoderKLKind.self,
        TweedieClassifierKind.self,
    ]
    private static let lock = NSLock()
    nonisolated(unsafe) private static var kinds: [String: any ModelKind.Type] = {
        var table: [String: any ModelKind.Type] = [:]
        for kind in builtIn { for name in kind.classNames { table[name] = kind } }
        return table
    }()

    /// Adds (or replaces) a kind under each of its class names.
    public static func register(_ kind: any ModelKind.Type) {
        lock.lock(); defer { lock.unlock() }
        for name in kind.classNames { kinds[name] = kind }
    }

    /// Every class name a folder may declare, sorted.
    public static var classNames: [String] {
        lock.lock(); defer { lock.unlock() }
        return kinds.keys.sorted()
    }

    /// The kind building `className`, nil when none does.
    public static func kind(of className: String) -> (any ModelKind.Type)? {
        lock.lock(); defer { lock.unlock() }
        return kinds[className]
    }
}

/// Loads model folders: `config.json` and the kind's checkpoint (`diffusion_pytorch_model.safetensors` for the
/// diffusers kinds).
public enum ModelFolder {
    /// The config file inside a folder.
    public static let configFile = "config.json"
    /// The checkpoint file inside a diffusers folder.
    public static let weightsFile = "diffusion_pytorch_model.safetensors"
    /// The key under which a narrowed model records its per-layer widths (units kept per prunable group).
    public static let layerWidthsKey = "tweedie_layer_widths"

    /// Class names this engine builds.
    public static var supportedClasses: [String] { ModelRegistry.classNames }

    /// Reads the folder's config, builds the kind `_class_name` names and fills it from the checkpoint.
    /// A missing, unexpected or mis-shaped tensor, a missing required config field or an unsupported value is
    /// `badInput` naming the file and the tensor or field.
    public static func load(_ directory: String) throws -> LoadedModel {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw TweedieError.badInput("\(directory): not a model folder (expected a directory with \(configFile) "
                                        + "and \(weightsFile))")
        }
        let configPath = (directory as NSString).appendingPathComponent(configFile)
        let json = try JSONConfig(path: configPath)
        let className = try json.requireString("_class_name")
        guard let kind = ModelRegistry.kind(of: className) else {
            throw json.invalid("_class_name", "unsupported model class \"\(className)\" "
                               + "(supported: \(supportedClasses.joined(separator: ", ")))")
        }
        // Validate the config before touching the (much larger) checkpoint.
        let build = try kind.prepare(config: json, className: className)
        let file = try SafeTensorsFile(path: (directory as NSString).appendingPathComponent(kind.weightsFile))
        let store = WeightStore(file: file)
        let model = try build(store)
        try store.finish(modelName: className)
        try checkLayerWidths(json, model)
        model.folderInfo = ModelFolderInfo(className: className, tensorCount: file.names.count, dtypes: store.dtypes,
                                           configJSON: json.text)
        return model
    }

    /// A narrowed model's declared widths must be the ones its tensors have (a stale key is an error naming it).
    static func checkLayerWidths(_ json: JSONConfig, _ model: LoadedModel) throws {
        guard let declared = json.rawValue(layerWidthsKey) as? [String: Any] else { return }
        let groups = (model as? PrunableModel)?.prunableGroups ?? []
        let actual = Dictionary(groups.map { ($0.widthKey, $0.count) }, uniquingKeysWith: { a, _ in a })
        for (key, value) in declared.sorted(by: { $0.key < $1.key }) {
            guard let n = (value as? NSNumber)?.intValue, let have = actual[key], n == have else {
                throw json.invalid(layerWidthsKey, "'\(key)' declares \(value) units, the checkpoint's tensors have "
                                   + (actual[key].map(String.init) ?? "no such layer"))
            }
        }
    }

    /// Writes `model`'s config (with `widths` under `tweedie_layer_widths` when given, and the `config` entries
    /// added) and `tensors` (F32) plus `int8` tensors (I8) as a folder of its kind; each file goes to a temporary
    /// name first and is then renamed.
    public static func write(_ model: LoadedModel, tensors: [(String, Tensor)], int8: [(String, [Int8], [Int])] = [],
                             widths: [String: Int]? = nil, config extra: [String: Any] = [:],
                             to directory: String, metadata: [String: String] = [:]) throws {
        guard let kind = ModelRegistry.kind(of: model.className),
              var config = try JSONSerialization.jsonObject(with: Data(model.configJSON.utf8)) as? [String: Any] else {
            throw TweedieError.badInput("\(directory): the model has no config of a known kind to write")
        }
        if let widths { config[layerWidthsKey] = widths }
        for (key, value) in extra { config[key] = value }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        let configPath = (directory as NSString).appendingPathComponent(configFile)
        do {
            try data.write(to: URL(fileURLWithPath: configPath), options: .atomic)
        } catch {
            throw TweedieError.badInput("\(configPath): cannot be written (\(error.localizedDescription))")
        }
        try SafeTensorsWriter.write(tensors, int8: int8, metadata: metadata,
                                    to: (directory as NSString).appendingPathComponent(kind.weightsFile))
    }
}
