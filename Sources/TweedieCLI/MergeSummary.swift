import Foundation
import Tweedie
import TweedieTraining

/// Summary statistics of a merged job (`tweedie merge --summary`). Generate: the mean HSV saturation of the
/// images (the metric `generate --json` prints per image), the class histogram and, with a judge, the share of
/// images the judge classifier (`tweedie classify`'s model) assigns to the class they were sampled as.
/// Reconstruct: the mean of every metric the entries carry (PSNR, SSIM).
enum MergeSummary {
    /// The summary of `merge` as JSON and as one line of text.
    static func of(_ merge: ShardMerge, judge: String?) throws -> (json: JSONOutput, text: String) {
        guard merge.reference.kind == "generate" else {
            guard judge == nil else { throw TweedieError.badInput("--judge: judges generated images, not reconstructions") }
            return metricMeans(merge)
        }
        let images = merge.items.compactMap { item in item.entry.files.first { $0.role == "image" }.map(item.path) }
        var saturations: [Double] = []
        for path in images {
            let image = try PNGImage.read(path: path).image
            if image.channels >= 3 { saturations.append(try ImageMetrics.meanSaturation([image])) }
        }
        var histogram: [Int: Int] = [:]
        for item in merge.items { if let c = item.entry.classID { histogram[c, default: 0] += 1 } }
        var json: [String: JSONOutput] = [
            "images": .int(merge.items.count),
            "class_histogram": .object(Dictionary(uniqueKeysWithValues: histogram.map { (String($0.key), .int($0.value)) })),
        ]
        var text = "\(merge.items.count) images"
        if saturations.count == images.count, !images.isEmpty {
            let mean = saturations.reduce(0, +) / Double(saturations.count)
            json["mean_saturation"] = .number(mean, decimals: 6)
            text += String(format: ", mean saturation %.4f", mean)
        }
        if !histogram.isEmpty {
            text += ", classes " + histogram.keys.sorted().map { "\($0):\(histogram[$0]!)" }.joined(separator: " ")
        }
        if let judge {
            let (correct, n) = try judgeAccuracy(merge, judge: judge)
            json["judge"] = .object(["model": .string(judge), "correct": .int(correct), "n": .int(n),
                                     "accuracy": .number(Double(correct) / Double(n), decimals: 6)])
            text += String(format: ", judge accuracy %d/%d (%.1f%%)", correct, n, 100 * Double(correct) / Double(n))
        }
        return (.object(json), text)
    }

    /// How many of the class-conditional images the judge at `folder` predicts as the class they were sampled as.
    static func judgeAccuracy(_ merge: ShardMerge, judge folder: String) throws -> (correct: Int, n: Int) {
        let labelled = merge.items.compactMap { item -> (String, Int)? in
            guard let c = item.entry.classID, let f = item.entry.files.first(where: { $0.role == "image" }) else { return nil }
            return (item.path(of: f), c)
        }
        guard !labelled.isEmpty else {
            throw TweedieError.badInput("--judge: the images carry no class (an unconditional model); nothing to judge")
        }
        let net = try TweedieClassifier(folder: folder)
        var correct = 0
        for start in stride(from: 0, to: labelled.count, by: 256) {
            let part = Array(labelled[start..<min(labelled.count, start + 256)])
            let predictions = try net.predict(try ClassifierImages.load(part.map(\.0), for: net.config))
            correct += zip(predictions, part).filter { $0.label == $1.1 }.count
        }
        return (correct, labelled.count)
    }

    /// Mean of every metric the entries carry.
    static func metricMeans(_ merge: ShardMerge) -> (json: JSONOutput, text: String) {
        var sums: [String: (Double, Int)] = [:]
        for item in merge.items {
            for (k, v) in item.entry.metrics ?? [:] where v.isFinite {
                let s = sums[k] ?? (0, 0)
                sums[k] = (s.0 + v, s.1 + 1)
            }
        }
        var json: [String: JSONOutput] = ["inputs": .int(merge.items.count)]
        var text = "\(merge.items.count) inputs"
        for k in sums.keys.sorted() {
            let mean = sums[k]!.0 / Double(sums[k]!.1)
            json["mean_" + k] = .number(mean, decimals: 6)
            text += String(format: ", mean %@ %.4f", k, mean)
        }
        return (.object(json), text)
    }
}
