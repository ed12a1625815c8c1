import Foundation
import TweedieCore

/// Everything needed to re-create one image bit for bit: the engine, the model (name and weight hashes) and the
/// settings of a one-image run (its own seed and class, batch of one). Stored as JSON in the PNG's `tweedie` chunk.
/// No absolute path is stored (they would reveal the maker's folders): the model by name and SHA-256, a latents
/// file by its file name.
public struct ImageRecipe: Codable, Equatable, Sendable {
    /// The model an image was made with.
    public struct Model: Codable, Equatable, Sendable {
        /// Path of the model folder, stored only by earlier builds (absolute); `generate --from` follows it only with
        /// `--trust-paths`.
        public var path: String?
        /// Short name (the folder's last component).
        public var name: String
        /// SHA-256 of the denoising network's weights file.
        public var weightsSHA256: String
        /// SHA-256 of the autoencoder's weights file, for latent pipelines.
        public var vaeSHA256: String?
        /// SHA-256 of the class embedding file (`generate --embedding`) whose concept the image shows.
        public var embeddingSHA256: String?

        enum CodingKeys: String, CodingKey {
            case path, name
            case weightsSHA256 = "weights_sha256", vaeSHA256 = "vae_sha256", embeddingSHA256 = "embedding_sha256"
        }

        public init(path: String? = nil, name: String, weightsSHA256: String, vaeSHA256: String?,
                    embeddingSHA256: String? = nil) {
            self.path = path; self.name = name; self.weightsSHA256 = weightsSHA256; self.vaeSHA256 = vaeSHA256
            self.embeddingSHA256 = embeddingSHA256
        }
    }

    /// Engine name and version ("tweedie 0.1.0").
    public var engine: String
    public var model: Model
    /// The settings of a one-image run that re-makes the image.
    public var settings: GenerationSettings
    /// Image size in pixels.
    public var width: Int
    public var height: Int
    /// The image's index in the run that made it (output numbering; informational).
    public var index: Int
    /// LoRA files merged into the network (file name, SHA-256, strength); nil when none was. Like a latents
    /// file, a LoRA is stored by name and hash, never by its path.
    public var loras: [LoRASpec.Applied]?

    public init(engine: String = EngineVersion.string, model: Model, settings: GenerationSettings, width: Int,
                height: Int, index: Int, loras: [LoRASpec.Applied]? = nil) {
        self.engine = engine; self.model = model; self.settings = settings
        self.width = width; self.height = height; self.index = index; self.loras = loras
    }

    /// The recipe of image `i` of a run made with `settings` on `pipeline`, whose class is `classID`.
    public static func image(_ i: Int, of settings: GenerationSettings, classID: Int?,
                             pipeline: SamplingPipeline) throws -> ImageRecipe {
        var one = settings
        one.seed = try settings.seed(ofImage: i)
        one.startIndex = 0
        one.batchCount = 1
        one.classID = classID
        if let l = settings.latents {
            one.latents = (l as NSString).lastPathComponent
            one.latentsOffset = settings.latentsOffset + i
        }
        // Like a latents file, the embedding is stored by file name and hash, never by its path.
        if let e = settings.embedding { one.embedding = (e as NSString).lastPathComponent }
        let model = Model(name: pipeline.source.name, weightsSHA256: try pipeline.weightsHash(),
                          vaeSHA256: try pipeline.vaeHash(), embeddingSHA256: pipeline.embedding?.sha256)
        let size = pipeline.imageSize
        return ImageRecipe(model: model, settings: one, width: size.width, height: size.height,
                           index: settings.startIndex + i, loras: pipeline.loras.isEmpty ? nil : pipeline.loras)
    }

    /// Compact JSON with sorted keys (one line).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Parses the JSON of a `tweedie` chunk; `source` names it in errors.
    public init(json: String, source: String) throws {
        do {
            self = try JSONDecoder().decode(ImageRecipe.self, from: Data(json.utf8))
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw TweedieError.badInput("\(source): tweedie metadata has an invalid value at "
                                        + "\(Self.path(context.codingPath)) (out of range for its type)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw TweedieError.badInput("\(source): tweedie metadata lacks \(Self.path(context.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw TweedieError.badInput("\(source): tweedie metadata has a wrong-typed \(Self.path(context.codingPath))")
        } catch let DecodingError.valueNotFound(_, context) {
            throw TweedieError.badInput("\(source): tweedie metadata has a null \(Self.path(context.codingPath))")
        } catch {
            // Foundation reports a number its type cannot hold (a negative seed) as invalid JSON; tell them apart.
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
                throw TweedieError.badInput("\(source): tweedie metadata is not valid JSON")
            }
            if let seed = (object["settings"] as? [String: Any])?["seed"] as? NSNumber,
               seed.doubleValue < 0 || seed.doubleValue != seed.doubleValue.rounded() || seed.doubleValue > 0x1p63 {
                throw TweedieError.badInput("\(source): tweedie metadata has an invalid settings.seed \(seed) (expected "
                                            + "an integer in 0...\(Int64.max))")
            }
            throw TweedieError.badInput("\(source): tweedie metadata has a number out of range for its field")
        }
        try checkShape(source: source)
    }

    /// The structural rules every reader of a recipe relies on (`generate --from` then checks the settings in
    /// full, as it checks flags).
    private func checkShape(source: String) throws {
        func fail(_ what: String) -> TweedieError { .badInput("\(source): tweedie metadata: \(what)") }
        if let iv = settings.guidanceInterval, iv.count != 2 {
            throw fail("guidance_interval must be [START, STOP], got \(iv.count) value\(iv.count == 1 ? "" : "s")")
        }
        if let s = settings.sigmas, s.count > ResourceLimits.maxSteps + 1 {
            throw fail("sigmas has \(s.count) values, more than the limit of \(ResourceLimits.maxSteps + 1)")
        }
        guard index >= 0 else { throw fail("index must be >= 0, got \(index)") }
        // A recipe re-makes one image; a larger batch_count would make `--from` sample a whole run.
        guard settings.batchCount == 1, settings.startIndex == 0 else {
            throw fail("a recipe describes one image (batch_count 1, start_index 0), got batch_count "
                       + "\(settings.batchCount), start_index \(settings.startIndex)")
        }
        guard width >= 0, height >= 0 else { throw fail("size \(width)x\(height) is negative") }
    }

    private static func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
}
