import ArgumentParser
import Foundation
import Tweedie
import TweedieOperators

/// `tweedie reconstruct`: solve an inverse problem y = A x + n with a diffusion prior (DDS, DPS) or without one
/// (zero-filled/adjoint, CG-Tikhonov), from a ground-truth image (simulated measurements) or from measured MRI
/// k-space. Writes the reconstruction, the zero-filled/adjoint baseline and an error map as PNGs and a JSON report;
/// every file goes to a temporary name first and all are renamed at the end, so a failure leaves nothing behind.
struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconstruct",
        abstract: "Reconstruct an image from linear measurements (MRI, multi-coil MRI, CT, deblur, SR, inpainting) "
            + "with DDS, DPS, or the zero-filled and Tikhonov baselines.")

    @Option(name: [.customShort("m"), .long], help: "Grey pixel-space prior (default: the bundled assets/phantom64).")
    var model: String?
    @Option(help: "Ground-truth PNG (grey; another size than the prior needs --resize).")
    var input: String?
    @Option(help: ArgumentHelp("A folder of ground-truth PNGs, each reconstructed as --input would be (same --seed); -o "
                               + "is then the output folder, and a shard manifest is written there (see --shard, --manifest).",
                               valueName: "dir"))
    var inputs: String?
    @Option(help: ArgumentHelp("With --inputs: reconstruct only shard I of N (0 <= I < N): the I-th of N equal blocks of "
                               + "the folder's PNGs sorted by name.", valueName: "I/N"))
    var shard: String?
    @Option(help: ArgumentHelp("With --inputs: the shard manifest (default: <-o>/shard-I-of-N.json); a re-run skips the "
                               + "inputs it lists whose outputs verify.", valueName: "file"))
    var manifest: String?
    @Option(help: "Ground truth: shepp-logan, ellipses[:I] (unseen phantom I), colin27[:I] (held-out slice I).")
    var phantom: String?
    @Option(help: "Measured MRI data (safetensors: kspace_real/kspace_imag, mask, optional coil_maps_real/imag, target).")
    var measurements: String?
    @Option(name: .customLong("operator"), help: "mri | mri-multicoil | ct | deblur | sr | inpaint (default mri).")
    var operatorName: String?
    @Option(help: "MRI: uniform1d | gaussian1d | poisson2d; inpaint: box | random.")
    var mask: String?
    @Option(help: "MRI acceleration (exact: H*W/R samples).") var acceleration: Int = 4
    @Option(help: "Multi-coil MRI: synthetic birdcage coils.") var coils: Int = 4
    @Option(help: "CT: views over [0, 180) degrees.") var views: Int = 16
    @Option(help: "Deblur kernel: gaussian:SIGMA[:SIZE] or motion:LENGTH[:ANGLE].") var kernel: String = "gaussian:3"
    @Option(help: "Super-resolution factor.") var scale: Int = 4
    @Option(help: "Inpainting: missing fraction (default 0.25 box, 0.7 random).") var missing: Double?
    @Option(name: .customLong("noise-sigma"), help: "Measurement noise σ_y in model units [-1, 1]; 0 selects DDS's noise-free branch.")
    var noiseSigma: Float = 0
    @Option(help: "zero-filled | tikhonov | dps | dds.") var method: String = "dds"
    @Option(help: "Diffusion steps = NFE (default 50 for dds, 1000 for dps).") var steps: Int?
    @Option(name: .customLong("cg-iters"), help: "DDS: CG steps per diffusion step (M).") var cgIters: Int = 5
    @Option(help: "DDS: fraction of fresh noise η (not DDIM's eta).") var eta: Float = 0.85
    @Option(help: "DDS: data weight γ (CT multiplies it by π/(2 views), SR by s², see README).") var gamma: Float = 1
    @Option(name: .customLong("dps-scale"), help: "DPS step s = 2ζ′ (default 0.3 sr/deblur, 0.5 inpaint, 1 mri, 1/‖A‖ ct).")
    var dpsScale: Float?
    @Option(help: "Tikhonov: λ relative to ‖AᴴA‖.") var lambda: Double = 1e-3
    @Option(name: .customLong("tikhonov-iters"), help: "Tikhonov: CG iterations.") var tikhonovIters: Int = 100
    @Option(help: "Seed of masks, measurement noise and sampling noise.") var seed: UInt64 = 0
    @Flag(help: "Resize an --input PNG of another size to the prior's size (bilinear).") var resize = false
    @Option(name: [.customShort("o"), .long], help: "Reconstruction PNG.") var output: String = "recon.png"
    @Option(help: "JSON report (default: beside the output, _report.json).") var report: String?
    @Flag(help: "No progress on stderr.") var quiet = false
    @Flag(help: "Print the report as one JSON line on stdout.") var json = false
    @OptionGroup var compute: ComputeOptions

    static let methods = ["zero-filled", "tikhonov", "dps", "dds"]

    func run() throws {
        try compute.apply()
        guard Self.methods.contains(method) else {
            throw TweedieError.badInput("--method \(method): unknown method (valid: \(Self.methods.joined(separator: ", ")))")
        }
        guard [input, phantom, measurements, inputs].compactMap({ $0 }).count <= 1 else {
            throw TweedieError.badInput("--input, --inputs, --phantom and --measurements: give only one")
        }
        if inputs == nil, let flag = [("--shard", shard), ("--manifest", manifest)].first(where: { $0.1 != nil })?.0 {
            throw TweedieError.badInput("\(flag): only with --inputs")
        }
        guard noiseSigma >= 0, noiseSigma.isFinite else { throw TweedieError.badInput("--noise-sigma: must be >= 0") }
        var spec = OperatorSpec(kind: try OperatorSpec.kind(operatorName ?? "mri"))
        (spec.mask, spec.acceleration, spec.coils, spec.views) = (mask, acceleration, coils, views)
        (spec.kernel, spec.scale, spec.missing, spec.seed) = (kernel, scale, missing, seed)
        if spec.kind == .ct { guard views >= 1 else { throw TweedieError.badInput("--views: must be at least 1, got \(views)") } }
        let modelPath = try model ?? Self.bundledPrior()
        let pipeline = try SamplingPipeline(path: modelPath)
        let shape = pipeline.sampleShape
        guard pipeline.vae == nil, shape[0] == 1 else {
            throw TweedieError.badInput("-m \(modelPath): reconstruct needs a grey pixel-space prior, got sample \(shape)")
        }
        if inputs != nil { return try reconstructShard(pipeline: pipeline, spec: spec, modelPath: modelPath) }
        _ = try reconstruct(pipeline: pipeline, spec: spec, modelPath: modelPath)
    }

    /// Reconstructs the one ground truth (or measured data) the flags name and writes its files; returns them
    /// (role, path, bytes) and the metrics against the ground truth.
    func reconstruct(pipeline: SamplingPipeline, spec specIn: OperatorSpec, modelPath: String) throws
        -> (files: [(role: String, path: String, data: Data)], metrics: [String: Double]) {
        var spec = specIn
        let (h, w) = (pipeline.sampleShape[1], pipeline.sampleShape[2])
        let started = Date()

        // Ground truth ([1, 1, H, W] in [0, 1]), operator and measurements (model space, [-1, 1]).
        var truth: Tensor? = nil
        let op: LinearOperator
        let y: Buffer
        if let path = measurements {
            let measured = try MeasurementsFile(path: path, height: h, width: w, operatorName: operatorName)
            spec.kind = measured.kind
            op = try spec.build(height: h, width: w, kspaceMask: measured.mask, coilMaps: measured.maps)
            y = measured.kspace
            truth = measured.target
        } else {
            let t = try groundTruth(height: h, width: w)
            truth = t
            op = try spec.build(height: h, width: w)
            let clean = op.apply(Buffer(shape: [h, w], isComplex: false, data: t.data.map { 2 * $0 - 1 }))
            if noiseSigma > 0 {
                let n = try PhiloxNoise(seed: seed).normal(shape: [clean.data.count], purpose: .custom(1))
                y = op.addNoise(to: clean, sigma: noiseSigma, normals: Buffer(shape: clean.shape, isComplex: clean.isComplex, data: n.data))
            } else {
                y = clean
            }
        }

        // Solve.
        let baseline = Baselines.adjoint(op, y)
        let progress = ReconstructProgress(enabled: !quiet && isatty(STDERR_FILENO) != 0, label: method)
        GenerateInterrupt.install()
        let onStep: StepCallback = { info in
            progress.update(step: info.step, total: info.total)
            return GenerateInterrupt.requested ? .stop : .continue
        }
        var details: [String: Any] = [:]
        var nfe = 0
        progress.begin()
        let recon: Tensor
        switch method {
        case "zero-filled":
            recon = Tensor(shape: [1, 1, h, w], data: baseline.data)
        case "tikhonov":
            let (x, lambdaAbs) = Baselines.tikhonov(op, y, relativeLambda: lambda, iterations: tikhonovIters)
            (details["lambda_relative"], details["lambda"], details["tikhonov_iters"]) = (lambda, lambdaAbs, tikhonovIters)
            recon = Tensor(shape: [1, 1, h, w], data: x.data)
        case "dds":
            let n = steps ?? 50
            let table = VPSigmaTable(alphasCumprod: NoiseSchedule.alphasCumprod(pipeline.scheduler))
            guard n >= 1, n <= table.count else { throw TweedieError.badInput("--steps: must be in 1...\(table.count), got \(n)") }
            // CT: the official AT is Aᵀ·π/(2 views); SR: the box mean has AᴴA = P/s² (see effectiveGamma).
            let gammaEff = DecomposedDiffusionSampler.effectiveGamma(gamma, for: op)
            let settings = DecomposedDiffusionSampler.Settings(cgIterations: cgIters, eta: eta, gamma: gammaEff,
                                                               noiseFree: noiseSigma == 0)
            let sigmas = InverseSchedule.ddsSigmas(table, steps: n)
            let noise = PhiloxNoise(seed: seed)
            let z = try noise.normal(shape: [1, 1, h, w], purpose: .initial)
            let x = Tensor(shape: z.shape, data: z.data.map { $0 * (1 + sigmas[0] * sigmas[0]).squareRoot() })
            recon = try DecomposedDiffusionSampler.sample(
                model: pipeline.denoiser(clip: true), operator: op, measurements: [y], x: x, sigmas: sigmas, settings: settings,
                condition: pipeline.classes.isConditional ? .null(count: 1) : .unconditional, noise: noise, onStep: onStep)
            nfe = n
            (details["steps"], details["cg_iters"], details["eta"]) = (n, cgIters, eta)
            (details["gamma"], details["gamma_effective"], details["branch"]) = (gamma, gammaEff, noiseSigma == 0 ? "noise-free" : "proximal")
        default:  // dps
            let n = steps ?? 1000
            let alphas = NoiseSchedule.alphasCumprod(pipeline.scheduler)
            guard n >= 1, n <= alphas.count else { throw TweedieError.badInput("--steps: must be in 1...\(alphas.count), got \(n)") }
            guard !pipeline.classes.isConditional else { throw TweedieError.badInput("-m \(modelPath): DPS needs an unconditional prior") }
            let s = dpsScale ?? defaultDPSScale(spec.kind, op)
            let noise = PhiloxNoise(seed: seed)
            let x = try noise.normal(shape: [1, 1, h, w], purpose: .initial)
            recon = try DiffusionPosteriorSampling.sample(
                model: try tapePrior(pipeline), operator: op, measurements: [y], x: x, alphasCumprod: alphas,
                timesteps: InverseSchedule.timesteps(count: alphas.count, steps: n), settings: .init(scale: s),
                noise: noise, onStep: onStep)
            nfe = n
            (details["steps"], details["dps_scale"], details["backward_passes"]) = (n, s, n)
        }
        progress.finish()
        if GenerateInterrupt.requested { throw ExitCode(GenerateInterrupt.exitCode) }
        let seconds = Date().timeIntervalSince(started)
        return try writeOutputs(recon: recon, baseline: Tensor(shape: [1, 1, h, w], data: baseline.data), truth: truth,
                         spec: spec, modelPath: modelPath, nfe: nfe, seconds: seconds, details: details)
    }

    /// The bundled phantom64 prior, looked for as `tweedie generate` finds fashion32 (working directory, then the
    /// folders above the executable).
    static func bundledPrior() throws -> String {
        let fm = FileManager.default, relative = "assets/phantom64"
        var dirs = [URL(fileURLWithPath: fm.currentDirectoryPath)]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 { dirs.append(dir); dir = dir.deletingLastPathComponent() }
        for d in dirs where fm.fileExists(atPath: d.appendingPathComponent(relative + "/config.json").path) {
            return d.appendingPathComponent(relative).path
        }
        throw TweedieError.badInput("-m: not given and the bundled \(relative) was not found; pass -m MODEL")
    }

    /// The ground truth in [0, 1] as [1, 1, H, W].
    func groundTruth(height h: Int, width w: Int) throws -> Tensor {
        if let path = input {
            let img = try PNGImage.read(path: path).image.converted(toChannels: 1)
            let t = img.tensor(range: .zeroToOne)
            if img.height == h && img.width == w { return t }
            guard resize else {
                throw TweedieError.badInput("--input \(path): the image is \(img.width)x\(img.height), the prior is "
                                            + "\(w)x\(h) (pass --resize to resize it)")
            }
            return Self.bilinear(t, height: h, width: w)
        }
        let name = phantom ?? "shepp-logan"
        let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
        guard let index = parts.count == 2 ? Int(parts[1]) : 0, index >= 0 else {
            throw TweedieError.badInput("--phantom \(name): the index after ':' must be a whole number >= 0")
        }
        switch parts[0] {
        case "shepp-logan" where parts.count == 1: return SheppLogan.image(height: h, width: w).reshaped([1, 1, h, w])
        case "ellipses": return RandomEllipses.images(count: 1, height: h, width: w, seed: 1, startIndex: index)
        case "colin27":
            guard h == w else { throw TweedieError.badInput("--phantom colin27: needs a square prior") }
            let slices = try Colin27.slices(.heldOut, side: h)
            guard index < slices.shape[0] else {
                throw TweedieError.badInput("--phantom \(name): there are \(slices.shape[0]) held-out slices (0...\(slices.shape[0] - 1))")
            }
            return Tensor(shape: [1, 1, h, w], data: Array(slices.data[(index * h * w)..<((index + 1) * h * w)]))
        default:
            throw TweedieError.badInput("--phantom \(name): unknown phantom (valid: shepp-logan, ellipses[:I], colin27[:I])")
        }
    }

    /// Bilinear resampling with pixel-centre alignment of a [1, 1, H, W] tensor.
    static func bilinear(_ t: Tensor, height h: Int, width w: Int) -> Tensor {
        let (sh, sw) = (t.shape[2], t.shape[3])
        return Tensor(shape: [1, 1, h, w], data: (0..<(h * w)).map { k in
            let y = min(max((Double(k / w) + 0.5) * Double(sh) / Double(h) - 0.5, 0), Double(sh - 1))
            let x = min(max((Double(k % w) + 0.5) * Double(sw) / Double(w) - 0.5, 0), Double(sw - 1))
            let (y0, x0) = (Int(y), Int(x)), (y1, x1) = (min(Int(y) + 1, sh - 1), min(Int(x) + 1, sw - 1))
            let (dy, dx) = (Float(y - Double(y0)), Float(x - Double(x0)))
            let top = t.data[y0 * sw + x0] * (1 - dx) + t.data[y0 * sw + x1] * dx
            let bottom = t.data[y1 * sw + x0] * (1 - dx) + t.data[y1 * sw + x1] * dx
            return top * (1 - dy) + bottom * dy
        })
    }

    /// DPS's default step: the paper's configs (0.3 SR and deblur, 0.5 inpainting); 1 for MRI (‖A‖ = 1); for CT,
    /// whose ‖A‖ is large, 1/‖A‖ so the step has the size it has on a unit-norm operator.
    func defaultDPSScale(_ kind: OperatorSpec.Kind, _ op: LinearOperator) -> Float {
        switch kind {
        case .sr, .deblur: return 0.3
        case .inpaint: return 0.5
        case .mri, .mriMulticoil: return 1
        case .ct: return Float(1 / OperatorNorm.normalSquared(op).squareRoot())
        }
    }

    /// The prior on the tape for DPS: the loaded network itself (every model runs on the tape), weights constant.
    func tapePrior(_ pipeline: SamplingPipeline) throws -> ThrowingTapeDenoiser {
        let net = pipeline.network
        return pipeline.denoiser().tapeDenoiser { tape, x, t in
            try net.forward(tape: tape, sample: x, timesteps: t, classLabels: nil)
        }
    }

    /// PSNR/SSIM, PNGs and the report, each written to a temporary file, then all renamed; returns the files
    /// (role, path, bytes) and the finite metrics.
    func writeOutputs(recon: Tensor, baseline: Tensor, truth: Tensor?, spec: OperatorSpec, modelPath: String,
                      nfe: Int, seconds: Double, details: [String: Any])
        throws -> (files: [(role: String, path: String, data: Data)], metrics: [String: Double]) {
        let unit = { (t: Tensor) in Tensor(shape: t.shape, data: t.data.map { min(max(($0 + 1) / 2, 0), 1) }) }
        let (r01, b01) = (unit(recon), unit(baseline))
        let base = (output as NSString).deletingPathExtension
        let baselinePath = base + (spec.kind == .mri || spec.kind == .mriMulticoil ? "_zero_filled.png" : "_adjoint.png")
        let errorPath = base + "_error.png", reportPath = report ?? base + "_report.json"
        var files: [(String, Data)] = [(output, try png(r01)), (baselinePath, try png(b01))]
        var metrics: [String: Any] = ["psnr": NSNull(), "ssim": NSNull(), "baseline_psnr": NSNull(), "baseline_ssim": NSNull()]
        if let t = truth {
            metrics["psnr"] = finite(try ImageMetrics.psnr(r01, t, dataRange: 1))
            metrics["ssim"] = try ImageMetrics.ssim(r01, t, dataRange: 1)
            metrics["baseline_psnr"] = finite(try ImageMetrics.psnr(b01, t, dataRange: 1))
            metrics["baseline_ssim"] = try ImageMetrics.ssim(b01, t, dataRange: 1)
            // Error map: |recon − truth| in [0, 1] units, ×4 (white = error of 0.25 or more).
            files.append((errorPath, try png(Tensor(shape: t.shape, data: zip(r01.data, t.data).map { min(abs($0 - $1) * 4, 1) }))))
        }
        var settings: [String: Any] = spec.settings.mapValues { $0 as Any }
        settings.merge(details) { a, _ in a }
        settings["method"] = method
        settings["seed"] = seed
        settings["noise_sigma"] = noiseSigma
        settings["source"] = measurements.map { "measurements:" + $0 } ?? input.map { "input:" + $0 } ?? "phantom:" + (phantom ?? "shepp-logan")
        var reportObject = metrics
        reportObject.merge(["method": method, "operator": spec.kind.rawValue, "nfe": nfe, "wall_seconds": seconds,
                            "threads": Runtime.threads, "model": modelPath, "engine_version": EngineVersion.string,
                            "settings": settings,
                            "files": ["reconstruction": output, "baseline": baselinePath,
                                      "error_map": truth == nil ? NSNull() : errorPath as Any]]) { a, _ in a }
        let reportData = try JSONSerialization.data(withJSONObject: reportObject, options: [.sortedKeys, .prettyPrinted])
        files.append((reportPath, reportData))
        try Self.writeAll(files)
        let roles = ["reconstruction", "baseline"] + (truth == nil ? [] : ["error_map"]) + ["report"]
        let written = zip(roles, files).map { (role: $0, path: $1.0, data: $1.1) }
        let finiteMetrics = ["psnr", "ssim"].reduce(into: [String: Double]()) { out, k in
            if let v = metrics[k] as? Double, v.isFinite { out[k] = v }
        }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: reportObject, options: [.sortedKeys]), as: UTF8.self))
        } else {
            let fmt = { (v: Any?) in (v as? Double).map { String(format: "%.4g", $0) } ?? "n/a" }
            print("\(output): PSNR \(fmt(metrics["psnr"])) dB, SSIM \(fmt(metrics["ssim"])) (\(baselinePath): PSNR "
                  + "\(fmt(metrics["baseline_psnr"])) dB, SSIM \(fmt(metrics["baseline_ssim"]))), \(nfe) NFE, "
                  + String(format: "%.2f s", seconds))
        }
        return (written, finiteMetrics)
    }

    private func finite(_ v: Double) -> Any { v.isFinite ? v : NSNull() }

    private func png(_ t01: Tensor) throws -> Data {
        Data(try PNGImage.images(from: t01, range: .zeroToOne).images[0].encoded())
    }

    /// Writes every file to `<path>.tmp-<pid>` and renames them all only once every write succeeded.
    static func writeAll(_ files: [(String, Data)]) throws {
        var temps: [String] = []
        do {
            for (path, data) in files {
                let tmp = path + ".tmp-\(getpid())"
                do { try data.write(to: URL(fileURLWithPath: tmp)) } catch {
                    throw TweedieError.runtime("\(path): cannot write (\(error.localizedDescription))")
                }
                temps.append(tmp)
            }
            for ((path, _), tmp) in zip(files, temps) where rename(tmp, path) != 0 {
                throw TweedieError.runtime("\(path): cannot rename \(tmp) into place")
            }
        } catch {
            for t in temps { unlink(t) }
            throw error
        }
    }
}

/// Step progress on stderr ("dds: step 3/50  0.05 s/it  ETA 2.3s"), redrawn in place when enabled.
final class ReconstructProgress {
    private let enabled: Bool, label: String
    private var start = Date()

    init(enabled: Bool, label: String) { (self.enabled, self.label) = (enabled, label) }

    func begin() { start = Date() }

    func update(step: Int, total: Int) {
        guard enabled else { return }
        let per = Date().timeIntervalSince(start) / Double(step + 1)
        fputs(String(format: "\r%@: step %d/%d  %.3f s/it  ETA %.1fs  ", label, step + 1, total, per,
                     per * Double(total - step - 1)), stderr)
    }

    func finish() { if enabled { fputs("\n", stderr) } }
}
