import ArgumentParser
import Foundation
import Tweedie

/// `tweedie score`: a reward's value for PNG images (the rewards `finetune` maximises), and the judge's diversity.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score PNG images with a reward (the ones finetune maximises): per image and the mean; "
            + "--diversity adds the mean pairwise distance of the judge's features.")

    @Option(help: ArgumentHelp("Reward: \(RewardRegistry.summary).", valueName: "name"))
    var reward: String
    @Option(help: "TweedieClassifier folder for classifier:N and --diversity (default: the bundled assets/classifier32/shape).")
    var judge: String?
    @Flag(help: "Also print the mean pairwise distance of the judge's pooled features over the images.")
    var diversity = false
    @Flag(help: "Print one JSON object (reward, images with path and reward, mean, std_error, diversity).")
    var json = false
    @Argument(help: "PNG files, or folders whose .png files are all scored.")
    var images: [String] = []
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        guard !images.isEmpty else { throw TweedieError.badInput("score: give at least one image or folder") }
        let judgeFolder = judge ?? BundledModel.find(BundledModel.judgePath)
        let r = try RewardRegistry.make(reward, context: RewardContext(judgeFolder: judgeFolder))
        let files = try ClassifierImages.expand(images)
        let pngs = try files.map { try PNGImage.read(path: $0).image }
        let batch = try PNGImage.tensor(from: pngs, range: .minusOneToOne)
        let scores = try r.scores(batch)
        let mean = scores.reduce(0.0) { $0 + Double($1) } / Double(scores.count)
        let variance = scores.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(max(1, scores.count - 1))
        let stdError = (variance / Double(scores.count)).squareRoot()
        var spread: Double?
        if diversity {
            guard let judgeFolder else { throw TweedieError.badInput("--diversity: no judge folder (--judge DIR)") }
            let net = try TweedieClassifier(folder: judgeFolder)
            try net.checkInput(batch.shape, source: "--diversity")
            spread = try JudgeDiversity.of(batch, judge: net)
        }
        if json {
            var o: [String: JSONOutput] = [
                "reward": .string(r.name), "mean": .number(mean, decimals: 6), "std_error": .number(stdError, decimals: 6),
                "images": .array(zip(files, scores).map { .object(["path": .string($0), "reward": .number(Double($1), decimals: 6)]) }),
            ]
            if let spread { o["diversity"] = .number(spread, decimals: 6) }
            return print(JSONOutput.object(o).text)
        }
        for (file, v) in zip(files, scores) { print("\(file): \(String(format: "%.6f", v))") }
        print(String(format: "%@: mean %.6f ± %.6f over %d images", r.name, mean, stdError, scores.count))
        if let spread { print(String(format: "diversity (mean pairwise judge-feature distance): %.4f", spread)) }
    }
}
