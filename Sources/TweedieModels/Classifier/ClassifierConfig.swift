import Foundation
import TweedieCore

/// The architecture of a `TweedieClassifier`: stages of (3x3 conv → GroupNorm → SiLU) layers, 2x average pooling
/// between stages, a global average pool and a linear head over `numClasses` logits. Stored as the folder's
/// `config.json` with `"_class_name": "TweedieClassifier"`.
public struct ClassifierConfig: Equatable, Sendable {
    /// The `_class_name` a classifier folder's config.json carries.
    public static let className = "TweedieClassifier"

    /// Channels of the input images (3 for RGB).
    public var inChannels: Int
    /// Height and width of the square input images.
    public var sampleSize: Int
    /// Output channels of each stage; the spatial size halves between stages.
    public var blockOutChannels: [Int]
    /// Conv → norm → SiLU layers per stage.
    public var layersPerBlock: Int
    /// GroupNorm groups (divides every stage's channels).
    public var normNumGroups: Int
    /// GroupNorm epsilon.
    public var normEps: Float
    /// Class names by label; their count is the number of logits.
    public var classNames: [String]

    /// Number of classes (logits).
    public var numClasses: Int { classNames.count }

    /// A config; `validate()` is not run here, so call it (or build a model, which does).
    public init(inChannels: Int = 3, sampleSize: Int = 32, blockOutChannels: [Int] = [48, 96, 192],
                layersPerBlock: Int = 1, normNumGroups: Int = 8, normEps: Float = 1e-5, classNames: [String]) {
        self.inChannels = inChannels
        self.sampleSize = sampleSize
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = layersPerBlock
        self.normNumGroups = normNumGroups
        self.normEps = normEps
        self.classNames = classNames
    }

    /// Reads and validates a classifier's config.json: `_class_name` must be TweedieClassifier; `num_classes` and
    /// `class_names` must agree (either alone is enough: absent names become "0", "1", …).
    public init(json: JSONConfig) throws {
        let name = try json.requireString("_class_name")
        guard name == Self.className else {
            throw TweedieError.badInput("\(json.path): field '_class_name': \"\(name)\" is not a \(Self.className)")
        }
        inChannels = try json.int("in_channels", default: 3)
        sampleSize = try json.requireInt("sample_size")
        blockOutChannels = try json.requireInts("block_out_channels")
        layersPerBlock = try json.int("layers_per_block", default: 1)
        normNumGroups = try json.int("norm_num_groups", default: 8)
        normEps = try json.float("norm_eps", default: 1e-5)
        let names = try json.strings("class_names")
        let count = try json.int("num_classes") ?? names?.count
        guard let count else {
            throw TweedieError.badInput("\(json.path): missing required field 'num_classes' (or 'class_names')")
        }
        if let names, names.count != count {
            throw TweedieError.badInput("\(json.path): field 'class_names': \(names.count) names for num_classes "
                                        + "\(count)")
        }
        classNames = names ?? (0..<max(0, count)).map(String.init)
        try validate(source: json.path)
    }

    /// Throws `badInput` (naming `source` and the field) for a config no network can be built from.
    public func validate(source: String = "classifier config") throws {
        func fail(_ field: String, _ why: String) -> TweedieError { .badInput("\(source): field '\(field)': \(why)") }
        guard inChannels >= 1 else { throw fail("in_channels", "must be at least 1, got \(inChannels)") }
        guard !blockOutChannels.isEmpty else { throw fail("block_out_channels", "needs at least one stage") }
        guard layersPerBlock >= 1 else { throw fail("layers_per_block", "must be at least 1, got \(layersPerBlock)") }
        guard normNumGroups >= 1 else { throw fail("norm_num_groups", "must be at least 1, got \(normNumGroups)") }
        if let c = blockOutChannels.first(where: { $0 < 1 || $0 % normNumGroups != 0 }) {
            throw fail("block_out_channels", "\(c) channels are not a positive multiple of norm_num_groups "
                       + "\(normNumGroups)")
        }
        let factor = 1 << (blockOutChannels.count - 1)
        guard sampleSize >= factor, sampleSize % factor == 0 else {
            throw fail("sample_size", "\(sampleSize) is not a positive multiple of \(factor) (one halving per stage)")
        }
        guard numClasses >= 2 else { throw fail("num_classes", "must be at least 2, got \(numClasses)") }
        guard normEps > 0 else { throw fail("norm_eps", "must be positive, got \(normEps)") }
    }

    /// Side of the feature map entering the global average pool.
    public var finalSide: Int { sampleSize >> (blockOutChannels.count - 1) }

    /// The config as config.json text (sorted keys); the epsilon is written by its shortest Float spelling.
    public var jsonText: String {
        let object: [String: Any] = [
            "_class_name": Self.className, "in_channels": inChannels, "sample_size": sampleSize,
            "block_out_channels": blockOutChannels, "layers_per_block": layersPerBlock,
            "norm_num_groups": normNumGroups, "norm_eps": Double(String(normEps)) ?? Double(normEps),
            "num_classes": numClasses,
            "class_names": classNames,
        ]
        let options: JSONSerialization.WritingOptions = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: options)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
