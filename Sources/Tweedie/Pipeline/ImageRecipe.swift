import Foundation
import TweedieCore

/// Everything needed to re-create one image bit for bit: the engine, the model (path and weight hashes) and the
/// settings of a one-image run (its own seed and class, batch of one). Stored as JSON in the PNG's `tweedie` chunk.
public struct ImageRecipe: Codable, Equatable, Sendable {
    /// The model an image was made with.
    public struct Model: Codable, Equatable, Sendable {
        /// Absolute path of the model folder at generation time.
        public var path: String
        /// Short name (the folder's last component).
        public var name: String
        /// SHA-256 of the denoising network's weights file.
        public var weightsSHA256: String
        /// SHA-256 of the autoencoder's weights file, for latent pipelines.
        public var vaeSHA256: String?

        enum CodingKeys: String, CodingKey {
            case path, name
            case weightsSHA256 = "weights_sha256", vaeSHA256 = "vae_sha256"
        }

        public init(path: String, name: String, weightsSHA256: String, vaeSHA256: String?) {
            self.path = path; self.name = name; self.weightsSHA256 = weightsSHA256; self.vaeSHA256 = vaeSHA256
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

    public init(engine: String = EngineVersion.string, model: Model, settings: GenerationSettings, width: Int,
                height: Int, index: Int) {
        self.engine = engine; self.model = model; self.settings = settings
        self.width = width; self.height = height; self.index = index
    }

    /// The recipe of image `i` of a run made with `settings` on `pipeline`, whose class is `classID`.
    public static func image(_ i: Int, of settings: GenerationSettings, classID: Int?,
                             pipeline: SamplingPipeline) throws -> ImageRecipe {
        var one = settings
        one.seed = try settings.seed(ofImage: i)
        one.startIndex = 0
        one.batchCount = 1
        one.classID = classID
        if settings.latents != nil { one.latentsOffset = settings.latentsOffset + i }
        let model = Model(path: pipeline.source.absolutePath, name: pipeline.source.name,
                          weightsSHA256: try pipeline.weightsHash(), vaeSHA256: try pipeline.vaeHash())
        let size = pipeline.imageSize
        return ImageRecipe(model: model, settings: one, width: size.width, height: size.height,
                           index: settings.startIndex + i)
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
        } catch let DecodingError.keyNotFound(key, context) {
            throw TweedieError.badInput("\(source): tweedie metadata lacks \(Self.path(context.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw TweedieError.badInput("\(source): tweedie metadata has a wrong-typed \(Self.path(context.codingPath))")
        } catch let DecodingError.valueNotFound(_, context) {
            throw TweedieError.badInput("\(source): tweedie metadata has a null \(Self.path(context.codingPath))")
        } catch {
            throw TweedieError.badInput("\(source): tweedie metadata is not valid JSON")
        }
    }

    private static func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
}
