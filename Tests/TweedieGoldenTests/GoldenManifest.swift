import Foundation
import Tweedie

/// One entry of Goldens/manifest.json: a model and the runs stored for it, every listed sampler x guidance.
struct GoldenEntry: Decodable {
    /// Model folder, relative to the repository root.
    let model: String
    /// Subfolder of Goldens/ holding this entry's files; default: the model folder's name.
    let name: String?
    let samplers: [String]
    let guidance: [String]
    /// Guidance scale (cfg and apg).
    let scale: Float
    /// Base seed: image i is `--seed seed --start-index i`.
    let seed: UInt64
    let steps: Int
    /// One image per class, for class-conditional models.
    let classes: [Int]?
    /// Number of images of an unconditional model.
    let images: Int?
    /// Convolution precision of the runs: nil (Float32) or "bf16" (`--precision bf16`).
    let precision: String?

    var folder: String { name ?? (model as NSString).lastPathComponent }
    var imageCount: Int { classes?.count ?? images ?? 0 }
}

/// One stored golden: a model, a sampler, a guidance mode and a few images, each an exact `tweedie generate` run.
struct GoldenCase {
    let entry: GoldenEntry
    let sampler: String
    let guidance: String

    /// Name in reports and file stem, relative to Goldens/.
    var id: String { "\(entry.folder)/\(sampler)-\(guidance)" }

    /// The settings of image `i`: what `tweedie generate -m MODEL --sampler S --steps N --guidance G --cfg-scale W
    /// --seed SEED --start-index i [--class K]` runs.
    func settings(image i: Int) -> GenerationSettings {
        var s = GenerationSettings()
        s.sampler = sampler
        s.steps = entry.steps
        s.guidance = guidance
        s.cfgScale = entry.scale
        s.seed = entry.seed
        s.startIndex = i
        s.batchCount = 1
        s.classID = entry.classes?[i]
        s.precision = entry.precision
        return s
    }

    /// The `tweedie generate` arguments of image `i` (model path as written in the manifest).
    func generateArguments(image i: Int) -> [String] {
        var a = ["generate", "-m", entry.model, "--sampler", sampler, "--steps", "\(entry.steps)",
                 "--guidance", guidance, "--cfg-scale", "\(entry.scale)", "--seed", "\(entry.seed)",
                 "--start-index", "\(i)", "--batch-count", "1"]
        if let c = entry.classes?[i] { a += ["--class", "\(c)"] }
        if let p = entry.precision { a += ["--precision", p] }
        return a
    }

    /// PNG of image `i`, relative to Goldens/.
    func imageFile(_ i: Int) -> String {
        id + "-" + (entry.classes.map { "class\($0[i])" } ?? "image\(i)") + ".png"
    }

    /// Final model-space samples of all images [N, C, h, w] (tensor `sample`), relative to Goldens/.
    var tensorFile: String { id + ".safetensors" }

    /// Whether this machine can run the golden: BF16 goldens need oneDNN's BF16 convolutions (AVX512-BF16, AMX).
    var runnable: Bool { entry.precision == nil || ComputePrecision.bfloat16Available }

    /// Every file this golden stores.
    var files: [String] { (0..<entry.imageCount).map(imageFile) + [tensorFile] }
}

/// Reads and checks the manifest; every problem is one line naming the entry and field.
enum GoldenManifest {
    /// Tests/TweedieGoldenTests/Goldens in the source tree.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens")
    /// The repository root, against which manifest model paths resolve.
    static let repositoryRoot = folder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let file = folder.appendingPathComponent("manifest.json")

    private struct Root: Decodable { let goldens: [GoldenEntry] }

    static func entries() throws -> [GoldenEntry] {
        try JSONDecoder().decode(Root.self, from: Data(contentsOf: file)).goldens
    }

    /// The expanded list of goldens, in manifest order.
    static func cases() throws -> [GoldenCase] {
        var out: [GoldenCase] = []
        var seen = Set<String>()
        for (k, e) in try entries().enumerated() {
            let at = "manifest.json goldens[\(k)] (\(e.model))"
            guard e.imageCount >= 1, e.classes == nil || e.images == nil else {
                throw TweedieError.badInput("\(at): give either classes (conditional) or images (unconditional)")
            }
            guard e.steps >= 1, !e.samplers.isEmpty, !e.guidance.isEmpty else {
                throw TweedieError.badInput("\(at): steps, samplers and guidance must be non-empty")
            }
            for s in e.samplers where !SamplerRegistry.builtInNames.contains(s) {
                throw TweedieError.badInput("\(at): sampler \(s) is not built in")
            }
            for g in e.guidance where !GenerationSettings.guidanceNames.contains(g) {
                throw TweedieError.badInput("\(at): guidance \(g) is unknown")
            }
            for s in e.samplers {
                for g in e.guidance {
                    let c = GoldenCase(entry: e, sampler: s, guidance: g)
                    guard seen.insert(c.id).inserted else {
                        throw TweedieError.badInput("\(at): golden \(c.id) is listed twice (give the entry a name)")
                    }
                    out.append(c)
                }
            }
        }
        return out
    }

    /// The model folder of `entry` (a model's config.json or a pipeline's model_index.json); a missing folder fails
    /// loudly rather than skipping its goldens.
    static func modelPath(_ entry: GoldenEntry) throws -> String {
        let path = repositoryRoot.appendingPathComponent(entry.model).path
        let found = ["config.json", "model_index.json"].contains {
            FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent($0))
        }
        guard found else {
            throw TweedieError.badInput("manifest.json: model \(entry.model) is missing (no \(path)/config.json or "
                                        + "model_index.json); the manifest lists only models in the repository")
        }
        return path
    }
}
