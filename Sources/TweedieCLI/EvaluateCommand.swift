import ArgumentParser
import Foundation
import Tweedie

/// `tweedie evaluate`: one-call denoising quality of a pixel-space model on held-out images (see
/// `DenoisingEvaluation`), the sampler-free check of a prior before it is used for reconstruction.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Denoise held-out images at given noise levels with one model call (Tweedie's formula) and print "
            + "PSNR of the noisy input and of the estimate, and SSIM of the estimate; for an AutoencoderKL folder, "
            + "reconstruct the Fashion-MNIST test split (colourised) and print PSNR and SSIM.")

    @Option(name: [.customShort("m"), .long], help: "Pixel-space model folder (UNet2DModel or DiT, no VAE), or an AutoencoderKL folder.")
    var model: String
    @Option(help: "Images: \(DenoisingEvaluation.ImageSet.allCases.map(\.rawValue).joined(separator: ", ")).")
    var images: String = DenoisingEvaluation.ImageSet.colin27HeldOut.rawValue
    @Option(help: "Noise levels in model space [-1, 1], comma-separated.")
    var sigma: String = "0.1,0.2,0.4,0.8"
    @Option(help: "AutoencoderKL: test images to reconstruct.")
    var count: Int = 1000
    @Option(help: "Noise seed.")
    var seed: UInt64 = 0
    @Flag(help: "Print one JSON object instead of a table.")
    var json = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        try compute.apply()
        if let vae = try? ModelFolder.load(model) as? AutoencoderKL { return try evaluateAutoencoder(vae) }
        guard let set = DenoisingEvaluation.ImageSet(rawValue: images) else {
            throw TweedieError.badInput("--images \(images): unknown image set (valid: "
                                        + DenoisingEvaluation.ImageSet.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        let sigmas = try sigma.split(separator: ",").map { part -> Float in
            guard let v = Float(part.trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0 else {
                throw TweedieError.badInput("--sigma: '\(part)' is not a positive number")
            }
            return v
        }
        guard !sigmas.isEmpty else { throw TweedieError.badInput("--sigma: give at least one noise level") }
        let pipeline = try SamplingPipeline(path: model)
        guard pipeline.vae == nil else {
            throw TweedieError.badInput("-m \(model): a latent pipeline; evaluate needs a pixel-space model")
        }
        let shape = pipeline.sampleShape
        guard shape[1] == shape[2] else { throw TweedieError.badInput("-m \(model): sample must be square, got \(shape)") }
        var clean = try set.images(side: shape[1])
        if shape[0] != 1 {
            // Grey images for a colour model: the same plane in every channel.
            let (n, plane) = (clean.shape[0], shape[1] * shape[2])
            clean = Tensor(shape: [n] + shape, data: (0..<n).flatMap { i in
                (0..<shape[0]).flatMap { _ in clean.data[(i * plane)..<((i + 1) * plane)] }
            })
        }
        let denoiser = pipeline.denoiser()
        let rows = try DenoisingEvaluation.run(denoiser, clean: clean, sigmas: sigmas, seed: seed,
                                               condition: { Condition.null(count: $0) })
        if json {
            let items = rows.map { r -> JSONOutput in
                .object(["sigma": .number(Double(r.sigma), decimals: 6), "noisy_psnr": .number(r.noisyPSNR, decimals: 3),
                         "denoised_psnr": .number(r.denoisedPSNR, decimals: 3),
                         "denoised_ssim": .number(r.denoisedSSIM, decimals: 4)])
            }
            print(JSONOutput.object(["model": .string(model), "images": .string(set.rawValue),
                                     "count": .int(clean.shape[0]), "rows": .array(items)]).text)
            return
        }
        print("\(set.rawValue): \(clean.shape[0]) images \(shape[1])x\(shape[2]), noise seed \(seed)")
        print("| sigma | noisy PSNR dB | denoised PSNR dB | denoised SSIM |")
        print("|---:|---:|---:|---:|")
        for r in rows {
            print(String(format: "| %g | %.2f | %.2f | %.4f |", Double(r.sigma), r.noisyPSNR, r.denoisedPSNR, r.denoisedSSIM))
        }
    }

    /// Reconstruction PSNR/SSIM of an AutoencoderKL on the colourised Fashion-MNIST test split.
    private func evaluateAutoencoder(_ vae: AutoencoderKL) throws {
        let r = try AutoencoderEvaluation.run(vae, images: try AutoencoderEvaluation.fashionTest(count: count))
        if json {
            print(JSONOutput.object(["model": .string(model), "images": .string("fashion32-test"), "count": .int(r.count),
                                     "psnr_mean": .number(r.psnrMean, decimals: 3), "psnr_std": .number(r.psnrStd, decimals: 3),
                                     "ssim_mean": .number(r.ssimMean, decimals: 4), "ssim_std": .number(r.ssimStd, decimals: 4),
                                     "scaling_factor": .number(Double(vae.scalingFactor), decimals: 6)]).text)
            return
        }
        print(String(format: "fashion32 test split: %d images reconstructed; PSNR %.2f ± %.2f dB, SSIM %.4f ± %.4f; "
                     + "scaling factor %g", r.count, r.psnrMean, r.psnrStd, r.ssimMean, r.ssimStd, Double(vae.scalingFactor)))
    }
}
