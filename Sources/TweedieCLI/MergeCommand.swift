import ArgumentParser
import Foundation
import Tweedie

/// `tweedie merge`: checks the shard manifests of one job (from `generate --manifest` or `reconstruct --inputs`)
/// and writes one merged description of it.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Check the shard manifests of a job and write one merged manifest: every index exactly once, the "
            + "same settings and weights, every file matching its SHA-256.",
        discussion: """
            Each DIR is a folder whose shard manifests (.json files of format tweedie-shard-v1) are read, or a \
            manifest file. The job's indices are 0..<N, N from --expect or the --job-size the shards recorded \
            (else the largest index + 1). A missing, duplicated or out-of-range index, an unfinished shard, a \
            shard made with another setting, seed, engine or weights, or a file whose SHA-256 differs from its \
            manifest is an error naming it (exit 2), and nothing is written.
            """)

    @Argument(help: ArgumentHelp("Folders holding shard manifests, or manifest files.", valueName: "dir"))
    var paths: [String] = []
    @Option(help: ArgumentHelp("The merged manifest to write (JSON; file paths relative to its folder).", valueName: "file"))
    var out: String
    @Option(parsing: .unconditional, help: "The job's number of indices (0..<N), when the shards did not record it.")
    var expect: Int?
    @Flag(help: "Add summary statistics: generate: mean saturation and class histogram; reconstruct: mean PSNR and SSIM.")
    var summary = false
    @Option(help: ArgumentHelp("Also the judge's accuracy on the generated images against the classes they were sampled "
                               + "as (a TweedieClassifier folder, e.g. assets/classifier32/shape); implies --summary.",
                               valueName: "dir"))
    var judge: String?
    @Flag(help: "Print the merged summary as one JSON line instead of text.")
    var json = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        guard !paths.isEmpty else { throw TweedieError.badInput("merge: give at least one folder or manifest") }
        if let e = expect, e < 1 { throw TweedieError.badInput("--expect must be at least 1, got \(e)") }
        try OutputPattern.checkWritable(out, flag: "--out")
        let merge = try ShardMerge(paths: paths, expectedTotal: expect)
        let stats = try (summary || judge != nil) ? MergeSummary.of(merge, judge: judge) : nil
        let document = merge.document(outPath: out, summary: stats?.json)
        let staged = StagedOutputs()
        try staged.stage(Array((document.text + "\n").utf8), for: out)
        try staged.commit()
        let noun = merge.reference.kind == "generate" ? "images" : "inputs"
        if json {
            var line: [String: JSONOutput] = ["out": .string(out), "kind": .string(merge.reference.kind),
                                              "total": .int(merge.items.count), "shards": .int(merge.manifests.count)]
            if let stats { line["summary"] = stats.json }
            print(JSONOutput.object(line).text)
        } else {
            print("\(out): \(merge.items.count) \(noun) from \(merge.manifests.count) shard"
                  + "\(merge.manifests.count == 1 ? "" : "s"), every index once, checksums verified"
                  + (stats.map { "; " + $0.text } ?? ""))
        }
    }
}
