import ArgumentParser
import Foundation
import Tweedie
import TweedieTraining

/// `tweedie classify`: class predictions of a TweedieClassifier for PNG images (files or folders of them).
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify PNG images with a TweedieClassifier folder: predicted class and confidence per image, "
            + "optionally the accuracy against an expected class.")

    @Option(help: "Classifier folder (config.json + model.safetensors).")
    var model: String
    @Argument(help: "PNG files, or folders whose .png files are all classified.")
    var images: [String] = []
    @Option(help: ArgumentHelp("Expected class (index or name): also print the share of images predicted as it.",
                               valueName: "class"))
    var expect: String?
    @Flag(help: "Print one JSON object instead of text lines (per image: path, class = id, label = name, confidence, probabilities).")
    var json = false
    @Option(help: "Images per forward pass.")
    var batch: Int = 256
    @Option(name: .customLong("test-images"),
            help: ArgumentHelp("Classify the first N images of the colourised Fashion-MNIST test split (the data of "
                               + "fashion32 and dit32) instead of PNG files; each is named fashion-test:INDEX.",
                               valueName: "N"))
    var testImages: Int?
    @Option(help: ArgumentHelp("Also write the judge's pooled features (what its linear head reads) of every image "
                               + "to this safetensors file: tensor 'features' [N, F].", valueName: "file"))
    var features: String?
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        guard batch >= 1 else { throw TweedieError.badInput("--batch: must be at least 1, got \(batch)") }
        guard !images.isEmpty || testImages != nil else {
            throw TweedieError.badInput("classify: give at least one image or folder")
        }
        guard testImages == nil || images.isEmpty else {
            throw TweedieError.badInput("--test-images: classifies the test split, not image files; drop one")
        }
        if let n = testImages, n < 1 { throw TweedieError.badInput("--test-images: must be at least 1, got \(n)") }
        let net = try TweedieClassifier(folder: model)
        let expected = try expect.map { try ClassifierImages.label($0, in: net.config) }
        let test = try testImages.map { _ in try ColourFashionDataset(split: .test) }
        if let n = testImages, let test, n > test.count {
            throw TweedieError.badInput("--test-images: the test split has \(test.count) images, asked for \(n)")
        }
        let files = try testImages.map { n in (0..<n).map { "fashion-test:\($0)" } } ?? ClassifierImages.expand(images)
        var predictions: [ClassifierPrediction] = []
        var pooled: [Float] = []
        for start in stride(from: 0, to: files.count, by: batch) {
            let range = start..<min(files.count, start + batch)
            let x = try test.map { $0.batch(Array(range)).images }
                ?? ClassifierImages.load(Array(files[range]), for: net.config)
            predictions += try net.predict(x)
            if features != nil { pooled += try net.features(x).data }
        }
        if let features {
            let t = Tensor(shape: [files.count, pooled.count / max(files.count, 1)], data: pooled)
            try SafeTensorsWriter.write([("features", t)], metadata: ["model": model], to: features)
        }
        let hits = expected.map { e in predictions.filter { $0.label == e }.count }
        if json {
            printJSON(files: files, predictions: predictions, expected: expected, hits: hits,
                      names: net.config.classNames)
            return
        }
        for (file, p) in zip(files, predictions) {
            print("\(file): \(p.label) \(p.className) \(String(format: "%.4f", p.confidence))")
        }
        if let e = expected, let hits {
            print(String(format: "accuracy against %d %@: %d/%d (%.1f%%)", e, net.config.classNames[e], hits,
                         files.count, 100 * Double(hits) / Double(files.count)))
        }
    }

    private func printJSON(files: [String], predictions: [ClassifierPrediction], expected: Int?, hits: Int?,
                           names: [String]) {
        func rounded(_ x: Float) -> Double { (Double(x) * 1e6).rounded() / 1e6 }
        var object: [String: Any] = [
            "model": model,
            "images": zip(files, predictions).map { file, p in
                // The vocabulary of `generate --json`: class = id, label = name.
                ["path": file, "class": p.label, "label": p.className, "confidence": rounded(p.confidence),
                 "probabilities": p.probabilities.map(rounded)] as [String: Any]
            },
        ]
        if let expected, let hits {
            object["expected"] = ["class": expected, "label": names[expected]] as [String: Any]
            object["correct"] = hits
            object["accuracy"] = Double(hits) / Double(files.count)
        }
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: options)) ?? Data("{}".utf8)
        print(String(decoding: data, as: UTF8.self))
    }
}
