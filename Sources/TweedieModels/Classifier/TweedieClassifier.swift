import Foundation
import TweedieCore

/// One image's classification: the arg-max label, its softmax probability and the whole distribution.
public struct ClassifierPrediction: Equatable, Sendable {
    /// Predicted class (arg-max of the logits; the lowest label wins ties).
    public let label: Int
    /// Name of the predicted class.
    public let className: String
    /// Softmax probability of the predicted class.
    public let confidence: Float
    /// Softmax probabilities of every class.
    public let probabilities: [Float]
}

/// A small image classifier (see `ClassifierConfig`) for judging generated samples: images [N, C, S, S] in [-1, 1]
/// to class logits. Loads from a folder holding `config.json` and `model.safetensors`.
///
///     let net = try TweedieClassifier(folder: "assets/classifier32")
///     let best = try net.predict(images).map(\.className)
public final class TweedieClassifier: LoadedModel {
    /// The checkpoint file inside a classifier folder.
    public static let weightsFile = "model.safetensors"

    /// The architecture.
    public let config: ClassifierConfig
    /// Elements over all weights.
    public let parameterCount: Int
    /// The parameters every pass reads.
    public let weights: ModelWeights
    /// Checkpoint facts for `tweedie info`.
    public var folderInfo: ModelFolderInfo
    /// Images per internal forward chunk (bounds the memory of large batches).
    public var chunkSize = 128

    struct Layer {
        let conv: Conv2d
        let norm: GroupNorm
    }
    private let stages: [[Layer]]
    private let head: Linear

    /// Builds the network `config` describes from `store`, which must hold exactly its tensors (a missing,
    /// mis-shaped or unexpected one is `badInput` naming the source and the tensor).
    public init(config: ClassifierConfig, store: WeightStore) throws {
        try config.validate(source: store.source.path)
        self.config = config
        let l = WeightLoader(store)
        var stages: [[Layer]] = []
        var channels = config.inChannels
        for (i, out) in config.blockOutChannels.enumerated() {
            var layers: [Layer] = []
            for j in 0..<config.layersPerBlock {
                let prefix = ClassifierNames.layer(i, j)
                layers.append(Layer(
                    conv: try Conv2d(l, prefix + ".conv", in: channels, out: out, kernel: 3, padding: 1),
                    norm: try GroupNorm(l, prefix + ".norm", channels: out, groups: config.normNumGroups,
                                        eps: config.normEps)))
                channels = out
            }
            stages.append(layers)
        }
        self.stages = stages
        head = try Linear(l, ClassifierNames.head, in: channels, out: config.numClasses)
        weights = l.weights
        folderInfo = ModelFolderInfo(className: ClassifierConfig.className, store: store)
        try store.finish(modelName: ClassifierConfig.className)
        parameterCount = store.parameterCount
    }

    /// Loads `<folder>/config.json` and `<folder>/model.safetensors`.
    public convenience init(folder: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TweedieError.badInput("\(folder): not a classifier folder (config.json + \(Self.weightsFile))")
        }
        // The config first: a folder of another model type is reported by its _class_name, not its file names.
        let configPath = (folder as NSString).appendingPathComponent("config.json")
        let config = try ClassifierConfig(json: JSONConfig(path: configPath))
        let file = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent(Self.weightsFile))
        try self.init(config: config, store: WeightStore(file: file))
    }

    /// Throws `badInput` unless `shape` is [N ≥ 1, inChannels, sampleSize, sampleSize].
    public func checkInput(_ shape: [Int], source: String = "classifier input") throws {
        let c = config
        guard shape.count == 4, shape[0] >= 1, shape[1] == c.inChannels, shape[2] == c.sampleSize,
              shape[3] == c.sampleSize else {
            throw TweedieError.badInput("\(source): images must be [N, \(c.inChannels), \(c.sampleSize), "
                                        + "\(c.sampleSize)], got \(shape)")
        }
    }

    /// Class logits [N, numClasses] of `images` [N, inChannels, S, S] in [-1, 1].
    public func logits(_ images: Tensor) throws -> Tensor {
        try checkInput(images.shape)
        let n = images.shape[0], chunk = max(1, chunkSize)
        if n <= chunk { return forward(images) }
        let parts = stride(from: 0, to: n, by: chunk).map { start in
            forward(slice(images, start..<min(n, start + chunk)))
        }
        return concat(parts, axis: 0)
    }

    /// Softmax probabilities and arg-max class of each image.
    public func predict(_ images: Tensor) throws -> [ClassifierPrediction] {
        let probs = softmaxLastDim(try logits(images))
        let k = config.numClasses
        return (0..<images.shape[0]).map { i in
            let row = Array(probs.data[i * k..<(i + 1) * k])
            var best = 0
            for j in 1..<k where row[j] > row[best] { best = j }
            return ClassifierPrediction(label: best, className: config.classNames[best], confidence: row[best],
                                        probabilities: row)
        }
    }

    private func forward(_ images: Tensor) -> Tensor {
        let tape = Tape()
        // The shape was checked by `logits(_:)`, the only caller.
        return try! logits(ForwardScope(tape: tape, weights: weights), images: tape.constant(images)).value
    }

    /// Class logits [N, numClasses] of `images` [N, C, S, S] on `scope`'s tape (differentiable in the images and,
    /// with the trainer's variables in the scope, in the weights).
    public func logits(_ scope: ForwardScope, images: Variable) throws -> Variable {
        head(scope, try features(scope, images: images))
    }

    /// The globally pooled features [N, last block's channels] the linear head reads, on `scope`'s tape: the
    /// judge's view of an image, whose pairwise distances measure the diversity of a set of samples.
    public func features(_ scope: ForwardScope, images: Variable) throws -> Variable {
        try checkInput(images.shape)
        let t = scope.tape
        var h = images
        for (i, layers) in stages.enumerated() {
            for layer in layers { h = t.silu(layer.norm(scope, layer.conv(scope, h))) }
            if i < stages.count - 1 { h = t.avgPool2d(h, kernel: 2) }
        }
        // Global average pool: one pooling window over the whole (square) final map.
        return t.reshape(t.avgPool2d(h, kernel: config.finalSide), [h.shape[0], h.shape[1]])
    }

    /// The pooled features of `images` [N, inChannels, S, S] in [-1, 1] (see `features(_:images:)`).
    public func features(_ images: Tensor) throws -> Tensor {
        try checkInput(images.shape)
        let tape = Tape()
        return try features(ForwardScope(tape: tape, weights: weights), images: tape.constant(images)).value
    }

    private func slice(_ x: Tensor, _ range: Range<Int>) -> Tensor {
        let per = x.count / x.shape[0]
        return Tensor(shape: [range.count] + Array(x.shape.dropFirst()),
                      data: Array(x.data[range.lowerBound * per..<range.upperBound * per]))
    }
}

/// Tensor names of a classifier checkpoint.
enum ClassifierNames {
    /// Prefix of layer `j` of stage `i`: `stages.<i>.<j>` (then `.conv` and `.norm`).
    static func layer(_ i: Int, _ j: Int) -> String { "stages.\(i).\(j)" }
    /// Prefix of the linear head.
    static let head = "head"
}
