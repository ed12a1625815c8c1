import Foundation
import TweedieCore
import TweedieModels

/// Where the parts of a model live on disk. Two layouts are understood:
/// - a bare network folder: `config.json` + `diffusion_pytorch_model.safetensors` (UNet2DModel or DiT), with an
///   optional `scheduler_config.json` beside it (or in `scheduler/`); without one the scheduler is diffusers'
///   DDPM default (linear betas 1e-4...0.02, 1000 steps);
/// - a diffusers pipeline folder: `model_index.json`, the network in `unet/` or `transformer/`, `scheduler/`, and
///   an optional `vae/` whose decoder turns latents into images.
///
/// Engine settings read from the folder (model_index.json first, then the network's config.json):
/// - `labels`: a list of class names, index = class id; `id2label` (DiTPipeline's {"id": "name, synonym"}) also
///   works;
/// - `null_class`: the class id the network was trained to read as "no class" (classifier-free guidance), or -1
///   for a network without one. Default: `num_embeds_ada_norm` for a DiT (the extra row diffusers' DiT keeps for
///   guidance), `num_class_embeds - 1` for a U-Net with a class table (the last class reserved as null), none
///   otherwise.
public struct ModelSource: Sendable {
    /// The two folder layouts.
    public enum Layout: String, Sendable { case bare, pipeline }

    /// The folder as given by the user.
    public let path: String
    /// The folder as an absolute, standardised path (what image metadata records).
    public let absolutePath: String
    public let layout: Layout
    /// The denoising network's folder (config.json + weights).
    public let networkFolder: String
    /// The scheduler config, if the folder has one.
    public let schedulerConfigPath: String?
    /// The autoencoder folder of a latent pipeline.
    public let vaeFolder: String?
    /// Class names by id (empty when the folder names none).
    public let labels: [Int: String]
    /// `null_class` from the folder: nil when absent, -1 for "no null class".
    public let nullClassSetting: Int?

    /// A short name for the model: the folder's last path component.
    public var name: String { (absolutePath as NSString).lastPathComponent }
    /// The network's weights file.
    public var weightsPath: String { join(networkFolder, ModelFolder.weightsFile) }
    /// The autoencoder's weights file, if any.
    public var vaeWeightsPath: String? { vaeFolder.map { join($0, ModelFolder.weightsFile) } }

    /// Inspects `path` and works out its layout; a missing folder or an unreadable index is `badInput`.
    public init(path: String) throws {
        self.path = path
        let cwd = FileManager.default.currentDirectoryPath
        let root = ((path.hasPrefix("/") ? path : join(cwd, path)) as NSString).standardizingPath
        absolutePath = root
        guard isDirectory(root) else {
            throw TweedieError.badInput("\(path): not a model folder (expected config.json + "
                                        + "\(ModelFolder.weightsFile), or a pipeline folder with model_index.json)")
        }
        let indexPath = join(absolutePath, "model_index.json")
        var settings: [[String: Any]] = []
        if FileManager.default.fileExists(atPath: indexPath) {
            layout = .pipeline
            let index = try readJSONObject(indexPath)
            settings.append(index)
            guard let network = ["unet", "transformer"].first(where: { isDirectory(join(root, $0)) }) else {
                throw TweedieError.badInput("\(indexPath): the pipeline has no unet/ or transformer/ folder")
            }
            networkFolder = join(absolutePath, network)
            let scheduler = join(absolutePath, "scheduler/scheduler_config.json")
            schedulerConfigPath = FileManager.default.fileExists(atPath: scheduler) ? scheduler : nil
            let vae = join(absolutePath, "vae")
            vaeFolder = isDirectory(vae) ? vae : nil
            if index["vae"] != nil && !(index["vae"] is NSNull) && vaeFolder == nil {
                throw TweedieError.badInput("\(indexPath): names a vae but \(vae) is missing")
            }
        } else {
            layout = .bare
            networkFolder = absolutePath
            let beside = join(absolutePath, "scheduler_config.json")
            let nested = join(absolutePath, "scheduler/scheduler_config.json")
            schedulerConfigPath = [beside, nested].first { FileManager.default.fileExists(atPath: $0) }
            vaeFolder = nil
        }
        let configPath = join(networkFolder, ModelFolder.configFile)
        if FileManager.default.fileExists(atPath: configPath) { settings.append(try readJSONObject(configPath)) }
        let pipeline = layout == .pipeline
        var sources = settings.enumerated().map { ($1, $0 == 0 && pipeline ? indexPath : configPath) }
        // Class names kept out of config.json (diffusers warns on keys it does not know): labels.json beside it.
        let labelsPath = join(networkFolder, "labels.json")
        if FileManager.default.fileExists(atPath: labelsPath) { sources.append((try readLabelsFile(labelsPath), labelsPath)) }
        labels = try ModelSource.labels(in: sources)
        nullClassSetting = try ModelSource.nullClass(in: sources)
    }

    /// The first `labels` list or `id2label` map among the sources.
    static func labels(in sources: [([String: Any], String)]) throws -> [Int: String] {
        for (object, file) in sources {
            if let v = object["labels"], !(v is NSNull) {
                guard let list = v as? [Any], list.allSatisfy({ $0 is String }) else {
                    throw TweedieError.badInput("\(file): key labels must be a list of strings")
                }
                return Dictionary(uniqueKeysWithValues: list.enumerated().map { ($0, $1 as! String) })
            }
            if let v = object["id2label"], !(v is NSNull) {
                guard let map = v as? [String: Any] else {
                    throw TweedieError.badInput("\(file): key id2label must be an object of id -> name")
                }
                var out: [Int: String] = [:]
                for (key, value) in map {
                    guard let id = Int(key), id >= 0, let name = value as? String else {
                        throw TweedieError.badInput("\(file): id2label entry \(key) must map a class id to a name")
                    }
                    out[id] = name
                }
                return out
            }
        }
        return [:]
    }

    /// The first `null_class` setting among the sources.
    static func nullClass(in sources: [([String: Any], String)]) throws -> Int? {
        for (object, file) in sources {
            guard let v = object["null_class"], !(v is NSNull) else { continue }
            guard let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue == n.doubleValue.rounded(),
                  n.intValue >= -1 else {
                throw TweedieError.badInput("\(file): key null_class must be a class id or -1 (no null class)")
            }
            return n.intValue
        }
        return nil
    }
}

func join(_ a: String, _ b: String) -> String { (a as NSString).appendingPathComponent(b) }

func isDirectory(_ path: String) -> Bool {
    var isDir: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
}

/// A JSON file whose top level is an object; errors name the file.
/// A labels.json file: either a list of class names or an object with a `labels` list.
func readLabelsFile(_ path: String) throws -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: path),
          let object = try? JSONSerialization.jsonObject(with: data) else {
        throw TweedieError.badInput("\(path): not readable JSON")
    }
    if let list = object as? [Any] { return ["labels": list] }
    guard let dict = object as? [String: Any] else {
        throw TweedieError.badInput("\(path): expected a list of class names or an object with key labels")
    }
    return dict
}

func readJSONObject(_ path: String) throws -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw TweedieError.badInput("\(path): cannot read")
    }
    guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
        throw TweedieError.badInput("\(path): not a JSON object")
    }
    return dict
}
