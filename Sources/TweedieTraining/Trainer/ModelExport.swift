import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TweedieCore
import TweedieModels
import TweedieNoise

/// Writes a trained network as a diffusers folder: `config.json` (the network's fields under its `_class_name`),
/// `diffusion_pytorch_model.safetensors`, `scheduler_config.json` (DDPMScheduler) and, for class-conditional
/// models, `labels.json` ({"labels": [...], "null_class": n}) — class names are not a diffusers config field.
/// The scheduler's variance_type is learned_range for a learned-sigma network (its variance channels trained by
/// `VarianceBoundLoss`), fixed_small otherwise.
public enum ModelExport {
    /// The diffusers version written into the configs.
    public static let diffusersVersion = "0.42.1"

    /// The DDPMScheduler config the trainer uses (diffusers' defaults: linear betas 1e-4...0.02 over 1000 steps,
    /// x0 clipped to [-1, 1] for pixels) with the run's prediction type. Latents are not clipped: at unit variance
    /// they leave [-1, 1] all the time (DiT's own scheduler config says clip_sample false).
    public static func scheduler(prediction: PredictionType, clipSample: Bool = true) -> SchedulerConfig {
        var s = SchedulerConfig()
        s.className = "DDPMScheduler"
        s.predictionType = prediction
        s.clipSample = clipSample
        s.clipSampleRange = 1
        s.varianceType = "fixed_small"
        return s
    }

    /// Writes the folder at `directory` (created if needed); every file goes through a temporary name.
    /// `schedulerDirectory` puts scheduler_config.json elsewhere (a pipeline's scheduler/).
    public static func write(directory: String, className: String, modelConfigJSON: String,
                             weights: [(String, Tensor)], prediction: PredictionType, learnedSigma: Bool = false,
                             classNames: [String]?, schedulerDirectory: String? = nil, clipSample: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard var config = try JSONSerialization.jsonObject(with: Data(modelConfigJSON.utf8)) as? [String: Any] else {
            throw TweedieError.badInput("model config: not a JSON object")
        }
        config["_class_name"] = className
        config["_diffusers_version"] = diffusersVersion
        try writeJSON(config, to: join(directory, ModelFolder.configFile))
        try SafeTensorsWriter.write(weights, metadata: ["format": "pt"], to: join(directory, ModelFolder.weightsFile))
        let scheduler: [String: Any] = [
            "_class_name": "DDPMScheduler", "_diffusers_version": diffusersVersion, "num_train_timesteps": 1000,
            "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear", "variance_type": learnedSigma ? "learned_range" : "fixed_small",
            "clip_sample": clipSample, "clip_sample_range": 1.0, "prediction_type": prediction.rawValue,
            "timestep_spacing": "leading", "steps_offset": 0, "thresholding": false,
        ]
        let schedulerFolder = schedulerDirectory ?? directory
        try FileManager.default.createDirectory(atPath: schedulerFolder, withIntermediateDirectories: true)
        try writeJSON(scheduler, to: join(schedulerFolder, "scheduler_config.json"))
        if let names = classNames {
            try writeJSON(["labels": names, "null_class": names.count], to: join(directory, "labels.json"))
        }
    }

    static func writeJSON(_ object: [String: Any], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        let temp = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: temp))
        // rename(2) replaces the old file atomically, so readers see the old or the new config, never half.
        guard rename(temp, path) == 0 else { throw TweedieError.runtime("\(path): cannot replace (errno \(errno))") }
    }

    static func join(_ a: String, _ b: String) -> String { (a as NSString).appendingPathComponent(b) }
}
