import ArgumentParser
import Foundation
import Tweedie
import TweedieOperators
import TweedieTraining

/// `tweedie reconstruct --inputs DIR [--shard I/N]`: every ground-truth PNG of a folder (sorted by name; index =
/// position) reconstructed exactly as `--input FILE` with the same flags would, shard I of N taking the I-th of N
/// contiguous blocks. Outputs go to the -o folder as NAME.png, NAME_zero_filled.png (or _adjoint), NAME_error.png
/// and NAME_report.json; after each input the shard manifest is rewritten atomically, so a re-run skips the inputs
/// whose outputs still verify and `tweedie merge` checks the job.
extension ReconstructCommand {
    func reconstructShard(pipeline: SamplingPipeline, spec: OperatorSpec, modelPath: String) throws {
        guard let folder = inputs else { return }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TweedieError.badInput("--inputs \(folder): not a folder")
        }
        if report != nil { throw TweedieError.badInput("--report: not with --inputs (each input gets NAME_report.json)") }
        guard !output.lowercased().hasSuffix(".png") else {
            throw TweedieError.badInput("-o \(output): with --inputs, -o names the output folder")
        }
        let resolved = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        guard resolved(folder) != resolved(output) else {
            throw TweedieError.badInput("-o \(output): the --inputs folder itself; its outputs would become inputs")
        }
        let files: [String]
        do { files = try ClassifierImages.expand([folder]) } catch let e as TweedieError {
            throw TweedieError.badInput("--inputs \(e.message)")
        }
        let block = try ShardProgress.block(shard ?? "0/1", total: files.count)
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw TweedieError.badInput("-o \(output): cannot create the output folder")
        }
        let manifestPath = manifest ?? (output as NSString).appendingPathComponent("shard-\(block.index)-of-\(block.of).json")
        try OutputPattern.checkWritable(manifestPath, flag: "--manifest")
        let template = ShardManifest(kind: "reconstruct", weightsSHA256: try pipeline.weightsHash(),
                                     settings: jobSettings(spec: spec, pipeline: pipeline),
                                     first: block.range.lowerBound, count: block.range.count, total: files.count)
        let progress = try ShardProgress(path: manifestPath, template: template)
        for line in progress.redone { fputs("tweedie: \(manifestPath): \(line)\n", stderr) }
        if !quiet, !progress.skipped.isEmpty {
            fputs("tweedie: \(manifestPath): \(progress.skipped.count) of \(block.range.count) inputs already "
                  + "reconstructed and verified; skipping them\n", stderr)
        }
        for index in progress.missing {
            if GenerateInterrupt.requested { throw ExitCode(GenerateInterrupt.exitCode) }
            let file = files[index]
            let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            var one = self
            (one.inputs, one.shard, one.manifest, one.input) = (nil, nil, nil, file)
            one.output = (output as NSString).appendingPathComponent(stem + ".png")
            let (written, metrics) = try one.reconstruct(pipeline: pipeline, spec: spec, modelPath: modelPath)
            try progress.record([ShardManifest.Entry(
                index: index, seed: seed, input: (file as NSString).lastPathComponent,
                inputSHA256: try SHA256.hex(fileAt: file), metrics: metrics,
                files: written.map { w in
                    ShardManifest.File(role: w.role, path: ShardManifest.relativePath(of: w.path, manifestAt: manifestPath),
                                       sha256: SHA256.hex([UInt8](w.data)))
                })])
        }
        try progress.finish()
        if !quiet {
            fputs("tweedie: \(manifestPath): inputs \(block.range.lowerBound)..<\(block.range.upperBound) of "
                  + "\(files.count) done (shard \(block.index)/\(block.of))\n", stderr)
        }
    }

    /// The settings every shard of a reconstruction job shares: the operator's, the method's and the seed.
    private func jobSettings(spec: OperatorSpec, pipeline: SamplingPipeline) -> [String: String] {
        var s = spec.settings
        s["model"] = pipeline.source.name
        s["method"] = method
        s["seed"] = String(seed)
        s["noise_sigma"] = String(noiseSigma)
        s["steps"] = steps.map(String.init) ?? "default"
        s["resize"] = String(resize)
        s["threads"] = String(Runtime.threads)  // the last bits of a result depend on how work is split
        switch method {
        case "dds": (s["cg_iters"], s["eta"], s["gamma"]) = (String(cgIters), String(eta), String(gamma))
        case "dps": s["dps_scale"] = dpsScale.map { String($0) } ?? "default"
        case "tikhonov": (s["lambda"], s["tikhonov_iters"]) = (String(lambda), String(tikhonovIters))
        default: break
        }
        return s
    }
}
