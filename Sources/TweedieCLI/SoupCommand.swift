import ArgumentParser
import Foundation
import Tweedie

/// `tweedie soup`: checkpoint interpolation of LoRA files (the original AlignProp code's model soup).
struct SoupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soup",
        abstract: "Mix LoRA files: every factor alpha·A + (1 − alpha)·B, or alpha·A with one file (toward the base model).",
        discussion: """
            Factors mix separately, as the original AlignProp code mixes LoRA state dicts, so with one file the update \
            B·A scales by alpha squared; `generate --lora FILE:alpha` scales it by alpha.
            """)

    @Argument(help: "One or two LoRA files (safetensors, diffusers layout) over the same layers.")
    var files: [String]
    @Option(help: "Weight of the first file, in any real number (default 0.5).")
    var alpha: Float = 0.5
    @Option(name: [.short, .customLong("output")], help: "The mixed LoRA file.")
    var output: String

    func run() throws {
        guard (1...2).contains(files.count) else {
            throw TweedieError.badInput("soup: give one or two LoRA files, got \(files.count)")
        }
        let a = try LoRAAdapterFile.read(files[0])
        let b = try files.count == 2 ? LoRAAdapterFile.read(files[1]) : nil
        try LoRAAdapterFile.write(try CheckpointSoup.mix(a, b, alpha: alpha), to: output)
        print("wrote \(output): \(a.layers.count) layers, alpha \(alpha)")
    }
}
