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
            guard let labels = b.labels else {
                throw TweedieError.badInput("classifier evaluation: data has no labels")
            }
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
