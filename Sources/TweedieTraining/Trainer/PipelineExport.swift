import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TweedieCore
import TweedieModels
import TweedieNoise

/// Writes a latent denoiser and its autoencoder as a diffusers pipeline folder:
///
///     model_index.json   DiTPipeline (a DiT; with id2label, DiTPipeline's class names) or DiffusionPipeline
///     transformer/ or unet/   config.json, weights, labels.json (class names and null class, as pixel models have)
///     scheduler/scheduler_config.json   DDPMScheduler, clip_sample false (latents are not in [-1, 1])
///     vae/               the training run's AutoencoderKL, copied
///
/// The folder is built under a temporary name beside `directory` and renamed into place, so a reader never sees
/// half of a pipeline; the previous folder is moved aside first and removed after (Linux's rename cannot replace
/// a non-empty directory), so a kill between the two renames leaves it as `<directory>.old-<pid>`.
public enum PipelineExport {
    /// The subfolder diffusers pipelines keep a network of `className` in.
    public static func networkFolderName(_ className: String) -> String {
        className == "UNet2DModel" ? "unet" : "transformer"
    }

    /// Writes the pipeline at `directory`; `vaeFolder` is copied into vae/.
    public static func write(directory: String, className: String, modelConfigJSON: String,
                             weights: [(String, Tensor)], prediction: PredictionType, learnedSigma: Bool,
                             classNames: [String]?, vaeFolder: String) throws {
        let parent = (directory as NSString).deletingLastPathComponent
        let name = (directory as NSString).lastPathComponent
        let temp = join(parent.isEmpty ? "." : parent, ".\(name).tmp-\(getpid())")
        let fm = FileManager.default
        try? fm.removeItem(atPath: temp)
        try fm.createDirectory(atPath: temp, withIntermediateDirectories: true)
        let network = networkFolderName(className)
        try ModelExport.write(directory: join(temp, network), className: className, modelConfigJSON: modelConfigJSON,
                              weights: weights, prediction: prediction, learnedSigma: learnedSigma,
                              classNames: classNames, schedulerDirectory: join(temp, "scheduler"), clipSample: false)
        try fm.createDirectory(atPath: join(temp, "vae"), withIntermediateDirectories: false)
        for file in [ModelFolder.configFile, ModelFolder.weightsFile] {
            try fm.copyItem(atPath: join(vaeFolder, file), toPath: join(join(temp, "vae"), file))
        }
        // diffusers has a pipeline for class-conditional DiTs only; a latent U-Net's folder still loads part by part.
        var index: [String: Any] = [
            "_class_name": network == "transformer" ? "DiTPipeline" : "DiffusionPipeline",
            "_diffusers_version": ModelExport.diffusersVersion,
            network: ["diffusers", className], "scheduler": ["diffusers", "DDPMScheduler"],
            "vae": ["diffusers", "AutoencoderKL"],
        ]
        if let classNames, network == "transformer" {
            index["id2label"] = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { (String($0), $1) })
        }
        try ModelExport.writeJSON(index, to: join(temp, "model_index.json"))

        let old = join(parent.isEmpty ? "." : parent, ".\(name).old-\(getpid())")
        let existed = fm.fileExists(atPath: directory)
        if existed {
            guard rename(directory, old) == 0 else {
                throw TweedieError.runtime("\(directory): cannot move the previous pipeline aside (errno \(errno))")
            }
        }
        guard rename(temp, directory) == 0 else {
            throw TweedieError.runtime("\(directory): cannot rename \(temp) into place (errno \(errno))")
        }
        if existed { try? fm.removeItem(atPath: old) }
    }

    static func join(_ a: String, _ b: String) -> String { (a as NSString).appendingPathComponent(b) }
}
