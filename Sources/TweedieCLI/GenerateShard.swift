import Foundation
import Tweedie

/// `tweedie generate --manifest FILE`: the run is one shard of a larger job (images start-index..<start-index + N).
/// Images are committed chunk by chunk and the manifest is rewritten after each, so a re-run of the same command
/// after a crash skips every image the manifest lists whose file still has its SHA-256, and makes the rest (a
/// changed or missing file included) again: image i depends only on the seed, i and the settings, so the result
/// is the run that never crashed, bit for bit.
struct GenerateShard {
    let progress: ShardProgress

    /// Opens (or resumes) the manifest at `path` for the run `settings` on `pipeline`; `jobSize` is the whole
    /// job's image count when known.
    init(path: String, settings: GenerationSettings, pipeline: SamplingPipeline, jobSize: Int?, quiet: Bool) throws {
        if let t = jobSize {
            guard t >= 1 else { throw TweedieError.badInput("--job-size must be at least 1, got \(t)") }
            guard settings.startIndex + settings.batchCount <= t else {
                throw TweedieError.badInput("--job-size \(t): this shard's images \(settings.startIndex)..<"
                                            + "\(settings.startIndex + settings.batchCount) lie outside the job's 0..<\(t)")
            }
        }
        let template = ShardManifest(kind: "generate", weightsSHA256: try pipeline.weightsHash(),
                                     settings: try Self.jobSettings(settings, pipeline: pipeline),
                                     first: settings.startIndex, count: settings.batchCount, total: jobSize)
        progress = try ShardProgress(path: path, template: template)
        for line in progress.redone { fputs("tweedie: \(path): \(line)\n", stderr) }
        if !quiet, !progress.skipped.isEmpty {
            fputs("tweedie: \(path): \(progress.skipped.count) of \(settings.batchCount) images already made and "
                  + "verified; skipping them\n", stderr)
        }
    }

    /// The chunks still to sample, as (offset in the run, count), each at most `chunk` consecutive images.
    func plan(settings: GenerationSettings, chunk: Int) -> [(first: Int, count: Int)] {
        ShardProgress.runs(of: progress.missing, chunk: chunk).map { ($0.first - settings.startIndex, $0.count) }
    }

    /// Records the images of a committed chunk.
    func record(_ images: [GenerateWriter.Written], manifestPath: String) throws {
        try progress.record(images.map { w in
            ShardManifest.Entry(index: w.index, seed: w.seed, classID: w.classID, files: [
                ShardManifest.File(role: "image", path: ShardManifest.relativePath(of: w.path, manifestAt: manifestPath),
                                   sha256: w.sha256),
            ])
        })
    }

    /// The settings every shard of one job shares: the run's recipe without its shard's place (batch count,
    /// start index, latents offset), plus the model's name, the autoencoder, embedding and LoRAs by hash, and the
    /// thread count (images are bit-identical across shards only at the same --threads).
    static func jobSettings(_ s: GenerationSettings, pipeline: SamplingPipeline) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var object = (try JSONSerialization.jsonObject(with: try encoder.encode(s)) as? [String: Any]) ?? [:]
        for key in ["batch_count", "start_index", "latents_offset"] { object[key] = nil }
        object["model"] = pipeline.source.name
        // The worker count changes how reductions are split, so the last bits of an image depend on it.
        object["threads"] = Runtime.threads
        if let vae = try pipeline.vaeHash() { object["vae_sha256"] = vae }
        if let e = pipeline.embedding { object["embedding_sha256"] = e.sha256 }
        if !pipeline.loras.isEmpty {
            object["loras"] = pipeline.loras.map { "\($0.name):\(GuiderParameter.text($0.scale)):\($0.sha256)" }
                .joined(separator: ",")
        }
        return ShardManifest.settingsText(object)
    }
}
