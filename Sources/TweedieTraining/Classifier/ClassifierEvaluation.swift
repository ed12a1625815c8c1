import Foundation
import TweedieCore
import TweedieModels

/// Accuracy and confusion matrix of a classifier over labelled images.
public struct ClassifierReport: Equatable {
    /// Class names by label.
    public let classNames: [String]
    /// counts[true label][predicted label].
    public let confusion: [[Int]]

    /// Images evaluated.
    public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
    /// Images whose prediction equals their label.
    public var correct: Int { confusion.indices.reduce(0) { $0 + confusion[$1][$1] } }
    /// Share of images classified correctly.
    public var accuracy: Double { count == 0 ? 0 : Double(correct) / Double(count) }
    /// Per true class: share classified correctly (0 for a class with no images).
    public var classAccuracy: [Double] {
        confusion.enumerated().map { k, row in
            let n = row.reduce(0, +)
            return n == 0 ? 0 : Double(row[k]) / Double(n)
        }
    }

    /// The confusion matrix as a Markdown table (rows: true class, columns: predicted label) with per-class recall.
    public var markdownTable: String {
        let k = classNames.count
        var lines = ["| true \\ predicted | " + (0..<k).map(String.init).joined(separator: " | ") + " | recall |",
                     "|---|" + String(repeating: "---:|", count: k + 1)]
        for (i, row) in confusion.enumerated() {
            let cells = row.map(String.init).joined(separator: " | ")
            lines.append("| \(i) \(classNames[i]) | \(cells) | \(String(format: "%.1f%%", 100 * classAccuracy[i])) |")
        }
        return lines.joined(separator: "\n")
    }
}

/// Runs a classifier over a labelled data set in batches.
public enum ClassifierEvaluation {
    /// Classifies images `indices` of `dataset` (all by default) in batches of `batch` and tallies the confusion
    /// matrix against their labels.
    public static func evaluate(_ model: TweedieClassifier, on dataset: TrainingDataset, indices: [Int]? = nil,
                                batch: Int = 256) throws -> ClassifierReport {
        let k = model.config.numClasses
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        let all = indices ?? Array(0..<dataset.count)
        for start in stride(from: 0, to: all.count, by: max(1, batch)) {
            let part = Array(all[start..<min(all.count, start + batch)])
            let b = dataset.batch(part)
            guard let labels = b.labels else { throw TweedieError.badInput("classifier evaluation: data has no labels") }
            let predicted = ClassifierTrainer.argmax(try model.logits(b.images))
            for (label, guess) in zip(labels, predicted) {
                guard (0..<k).contains(label) else {
                    throw TweedieError.badInput("classifier evaluation: label \(label) outside 0..<\(k)")
                }
                confusion[label][guess] += 1
            }
        }
        return ClassifierReport(classNames: model.config.classNames, confusion: confusion)
    }
}

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
