import TweedieCore
import TweedieData

/// Images a trainer draws batches from: [C, H, W] samples in [-1, 1], optionally with class labels.
public protocol TrainingDataset {
    /// Number of samples (indices 0..<count).
    var count: Int { get }
    /// [C, H, W] of one sample.
    var sampleShape: [Int] { get }
    /// Class names by label; nil for an unconditional data set.
    var classNames: [String]? { get }
    /// Describes the data and its recipe for model cards.
    var recipe: String { get }
    /// Samples `indices` as [n, C, H, W] in [-1, 1] with their labels (nil when unconditional).
    func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]?)
}

/// A data set held in memory: images [N, C, H, W] in [-1, 1] with optional labels (tests, small experiments).
public struct TensorDataset: TrainingDataset {
    /// All images.
    public let images: Tensor
    /// Label per image, or nil.
    public let labels: [Int]?
    public let classNames: [String]?
    public let recipe: String

    /// Wraps `images`; `labels` (one per image) need `classNames` covering them.
    public init(images: Tensor, labels: [Int]? = nil, classNames: [String]? = nil, recipe: String = "in-memory") {
        precondition(images.rank == 4, "TensorDataset: images must be [N, C, H, W], got \(images.shape)")
        precondition(labels == nil || labels!.count == images.shape[0], "TensorDataset: one label per image")
        precondition((labels == nil) == (classNames == nil), "TensorDataset: labels need class names")
        self.images = images
        self.labels = labels
        self.classNames = classNames
        self.recipe = recipe
    }

    public var count: Int { images.shape[0] }
    public var sampleShape: [Int] { Array(images.shape.dropFirst()) }

    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]?) {
        let per = sampleShape.reduce(1, *)
        let out = Tensor(shape: [indices.count] + sampleShape) { dst in
            images.withUnsafeBufferPointer { src in
                for (k, i) in indices.enumerated() {
                    (dst.baseAddress! + k * per).update(from: src.baseAddress! + i * per, count: per)
                }
            }
        }
        return (out, labels.map { l in indices.map { l[$0] } })
    }
}

/// The colourised Fashion-MNIST training split (`ClassLinkedHue`): RGB 32x32, ten classes; each image's colour is
/// keyed by its index, so a sample looks the same whenever it is drawn.
public struct ColourFashionDataset: TrainingDataset {
    /// The grey source images.
    public let source: FashionMNIST
    /// Seed of the colour recipe.
    public let colourSeed: UInt64

    /// Loads the split from Debian's package directory (or `directory`).
    public init(split: FashionMNIST.Split = .train, directory: String = FashionMNIST.defaultDirectory,
                colourSeed: UInt64 = 0) throws {
        source = try FashionMNIST.load(split: split, directory: directory)
        self.colourSeed = colourSeed
    }

    public var count: Int { source.count }
    public var sampleShape: [Int] { [3, ClassLinkedHue.side, ClassLinkedHue.side] }
    public var classNames: [String]? { FashionMNIST.classNames }
    public var recipe: String {
        "Fashion-MNIST \(source.split.rawValue) split (\(count) images), \(ClassLinkedHue.recipe) colour seed \(colourSeed)"
    }

    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]?) {
        (ClassLinkedHue.images(source, indices: indices, seed: colourSeed), indices.map { source.labels[$0] })
    }
}

/// Random-ellipse phantoms (`RandomEllipses`), grey, unconditional, rendered on demand: index i is phantom i.
public struct PhantomDataset: TrainingDataset {
    public let count: Int
    /// Image side.
    public let side: Int
    /// Phantom seed.
    public let seed: UInt64

    /// `count` phantoms of `side` x `side` pixels.
    public init(count: Int = 60_000, side: Int = 64, seed: UInt64 = 0) {
        self.count = count
        self.side = side
        self.seed = seed
    }

    public var sampleShape: [Int] { [1, side, side] }
    public var classNames: [String]? { nil }
    public var recipe: String { "\(RandomEllipses.recipe) phantoms \(side)x\(side), seed \(seed), \(count) indices" }

    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]?) {
        let parts = indices.map { RandomEllipses.images(count: 1, height: side, width: side, seed: seed, startIndex: $0) }
        var out = concat(parts, axis: 0)
        // [0, 1] intensities to the model space [-1, 1].
        out.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = 2 * p[i] - 1 } }
        return (out, nil)
    }
}

/// Data sets `tweedie train --data` names.
public enum TrainingData {
    /// Names accepted by `--data`.
    public static let names = ["fashion32", "phantom64", "ellipses64"]

    /// The data set called `name`; unknown names are badInput naming the flag.
    public static func named(_ name: String) throws -> TrainingDataset {
        switch name {
        case "fashion32": return try ColourFashionDataset()
        case "phantom64": return try PhantomPriorDataset()
        case "ellipses64": return PhantomDataset()
        default:
            throw TweedieError.badInput("--data \(name): unknown data set (valid: \(names.joined(separator: ", ")))")
        }
    }
}
