import TweedieCore
import TweedieData

/// Colourised Fashion-MNIST with every image painted in the hue of *another* class (label + `shift` mod 10) but
/// labelled with its true class: a classifier that only read the hue would score near 0 here, one that reads the
/// garment's shape keeps its accuracy. Same recipe, seed and per-index jitter as `ColourFashionDataset`.
public struct HueShiftedFashionDataset: TrainingDataset {
    /// The grey source images.
    public let source: FashionMNIST
    /// Seed of the colour recipe.
    public let colourSeed: UInt64
    /// Classes to rotate the hue by (1...9).
    public let shift: Int

    /// The split with hues rotated by `shift` classes.
    public init(source: FashionMNIST, colourSeed: UInt64 = 0, shift: Int = 5) {
        precondition((1..<FashionMNIST.classNames.count).contains(shift), "HueShiftedFashionDataset: shift \(shift)")
        self.source = source
        self.colourSeed = colourSeed
        self.shift = shift
    }

    public var count: Int { source.count }
    public var sampleShape: [Int] { [3, ClassLinkedHue.side, ClassLinkedHue.side] }
    public var classNames: [String]? { FashionMNIST.classNames }
    public var recipe: String {
        "Fashion-MNIST \(source.split.rawValue) split, \(ClassLinkedHue.recipe) colour seed \(colourSeed), hue of "
            + "class label+\(shift)"
    }

    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]?) {
        let k = FashionMNIST.classNames.count
        let painted = source.labels.map { ($0 + shift) % k }
        return (ClassLinkedHue.images(pixels: source.pixels, labels: painted, indices: indices, seed: colourSeed),
                indices.map { source.labels[$0] })
    }
}

/// Colourised Fashion-MNIST where a share `probability` of the images is painted in the hue of a random class
/// (uniform over the ten, drawn per image index from `seed`), labels unchanged: training on it stops a classifier
/// from reading the class off the hue alone (probability 1 makes the hue carry no information at all). The other
/// images follow the recipe exactly.
public struct RecolouredFashionDataset: TrainingDataset {
    /// The grey source images.
    public let source: FashionMNIST
    /// Seed of the colour recipe.
    public let colourSeed: UInt64
    /// Share of images painted in a random class's hue.
    public let probability: Float
    /// Seed of the per-index choice.
    public let seed: UInt64
    private let painted: [Int]

    /// `source` with a share `probability` of its images recoloured.
    public init(source: FashionMNIST, colourSeed: UInt64 = 0, probability: Float, seed: UInt64) {
        precondition((0...1).contains(probability), "RecolouredFashionDataset: probability \(probability)")
        self.source = source
        self.colourSeed = colourSeed
        self.probability = probability
        self.seed = seed
        let k = FashionMNIST.classNames.count
        let key = seed ^ 0x5245_434F_4C4F_5552  // "RECOLOUR": a stream apart from the data order's
        painted = source.labels.enumerated().map { i, label in
            guard CounterRandom.uniform(seed: key, index: 2 * i) < probability else { return label }
            return min(k - 1, Int(CounterRandom.uniform(seed: key, index: 2 * i + 1) * Float(k)))
        }
    }

    public var count: Int { source.count }
    public var sampleShape: [Int] { [3, ClassLinkedHue.side, ClassLinkedHue.side] }
    public var classNames: [String]? { FashionMNIST.classNames }
    public var recipe: String {
        "Fashion-MNIST \(source.split.rawValue) split, \(ClassLinkedHue.recipe) colour seed \(colourSeed), "
            + "\(probability) of the images in a random class's hue (seed \(seed))"
    }

    /// The label whose hue image `index` is painted in.
    public func hueClass(_ index: Int) -> Int { painted[index] }

    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]?) {
        (ClassLinkedHue.images(pixels: source.pixels, labels: painted, indices: indices, seed: colourSeed),
         indices.map { source.labels[$0] })
    }
}
