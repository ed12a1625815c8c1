import Foundation
import TweedieCore
import TweedieModels

/// The documented caps of a sampling run (docs/errors.md lists them with their messages). Each is checked before
/// anything of that size is allocated, and a value past it is `badInput` naming the field or flag.
public enum ResourceLimits {
    /// Images in one run (`-b/--batch-count`, `batch_count` of a recipe).
    public static let maxBatchCount = 1_000_000
    /// Images sampled at once (`--batch-size`, the chunk a large `-b` is split into).
    public static let maxBatchSize = 256
    /// Chunk used when `--batch-size` is not given.
    public static let defaultBatchSize = 8
    /// Sampling steps (`--steps`, the length of `--sigmas`).
    public static let maxSteps = 10_000
    /// Height or width of a sample in model space (`sample_size` of config.json).
    public static let maxSampleSide = 4096
    /// Channels of a sample (`in_channels`, `out_channels`, `latent_channels`).
    public static let maxChannels = 4096
    /// Elements of one sample, C x H x W (64M floats, 256 MB).
    public static let maxSampleElements = 1 << 26
    /// Elements of one chunk's batch, guidance's doubled batch included (--batch-size x passes x C x H x W).
    public static let maxChunkElements = 1 << 28
    /// Images in one `--grid`.
    public static let maxGridImages = 4096
    /// Elements `--save-tensor` may hold (all images of the run).
    public static let maxSavedElements = 1 << 28
    /// Guidance scale `--cfg-scale` (diffusers' convention; typical values are 1-20).
    public static let maxCFGScale: Float = 1000
    /// Pad width of an `-o` pattern's %Nd.
    public static let maxPadWidth = 64
    /// Bytes of one path component (the file system's NAME_MAX) and of a whole output path (PATH_MAX).
    public static let maxNameBytes = 255
    public static let maxPathBytes = 4095

    /// Checks the fields of the config.json in `folder` that size what a run allocates (sample_size, channels,
    /// norm_eps), before the model is built; errors name the file and field.
    public static func checkModelConfig(folder: String) throws {
        let path = (folder as NSString).appendingPathComponent(ModelFolder.configFile)
        guard FileManager.default.fileExists(atPath: path) else { return }
        let json = try JSONConfig(path: path)
        func fail(_ key: String, _ what: String) -> TweedieError {
            TweedieError.badInput("\(path): field '\(key)': \(what)")
        }
        if json.has("sample_size") {
            let sides: [Int]
            if let list = try? json.ints("sample_size") { sides = list } else { sides = [try json.requireInt("sample_size")] }
            for s in sides where s < 1 || s > maxSampleSide {
                throw fail("sample_size", "\(s) is outside 1...\(maxSampleSide) (the engine's limit)")
            }
        }
        for key in ["in_channels", "out_channels", "latent_channels"] where json.has(key) {
            let c = try json.requireInt(key)
            guard (1...maxChannels).contains(c) else {
                throw fail(key, "\(c) is outside 1...\(maxChannels) (the engine's limit)")
            }
        }
        for key in ["norm_eps", "layer_norm_eps"] where json.has(key) {
            let e = try json.requireDouble(key)
            guard e.isFinite, e > 0, e < 1 else { throw fail(key, "must be a number in (0, 1), got \(e)") }
        }
    }

    /// Checks one sample's shape [C, H, W] (model space, or decoded pixels) against the per-sample caps; `source`
    /// names the config that set it.
    public static func checkSample(_ shape: [Int], source: String) throws {
        let elements = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        guard elements <= maxSampleElements else {
            throw TweedieError.badInput("\(source): a sample of shape \(shape) has \(elements) elements, more than "
                                        + "the engine's limit of \(maxSampleElements)")
        }
    }

    /// Checks that `batchSize` samples of `elements` each, times `passes` network passes per step (2 under
    /// guidance), fit the chunk cap.
    public static func checkChunk(batchSize: Int, passes: Int, sampleElements: Int) throws {
        let total = batchSize.multipliedReportingOverflow(by: passes * sampleElements)
        guard !total.overflow, total.partialValue <= maxChunkElements else {
            let most = max(1, maxChunkElements / max(1, passes * sampleElements))
            throw TweedieError.badInput("--batch-size \(batchSize): \(batchSize) x \(passes) pass(es) x "
                                        + "\(sampleElements) elements exceeds the engine's limit of "
                                        + "\(maxChunkElements) per chunk; use --batch-size \(most) or less")
        }
    }
}
