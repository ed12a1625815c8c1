import Foundation
import TweedieCore
import TweedieData
import TweedieImaging
import TweedieSamplers

/// How well a pixel-space model denoises clean images it did not train on, in one call: x0 = D(x + σε, σ), the
/// posterior mean of Tweedie's formula. A direct, sampler-free measure of a prior (the quantity DDS, DPS and the
/// reconstruct solvers lean on), reported as PSNR of the noisy input and of the estimate against the clean image.
public enum DenoisingEvaluation {
    /// Evaluation image sets, disjoint from the training streams of the bundled models.
    public enum ImageSet: String, CaseIterable, Sendable {
        /// Colin27's held-out axial slices (`Colin27.heldOutSlices`), grey.
        case colin27HeldOut = "colin27-heldout"
        /// The modified Shepp-Logan phantom, grey.
        case sheppLogan = "shepp-logan"
        /// Random-ellipse phantoms 0..<16 of seed 1 (training draws seed 0).
        case ellipses

        /// The images [n, 1, side, side] in [0, 1].
        public func images(side: Int) throws -> Tensor {
            switch self {
            case .colin27HeldOut: return try Colin27.slices(.heldOut, side: side)
            case .sheppLogan: return SheppLogan.image(height: side, width: side).reshaped([1, 1, side, side])
            case .ellipses: return RandomEllipses.images(count: 16, height: side, width: side, seed: 1)
            }
        }
    }

    /// One noise level's outcome (PSNR in dB with data range 1, intensities in [0, 1]; means over the images).
    public struct Row: Equatable, Sendable {
        public var sigma: Float
        public var noisyPSNR: Double
        public var denoisedPSNR: Double
        public var denoisedSSIM: Double
    }

    /// Runs `denoiser` on `clean` [n, C, H, W] in [0, 1] at each σ of model space ([-1, 1], so σ = 0.2 is noise of
    /// standard deviation 0.1 in [0, 1] units), with Philox noise from `seed`, batch by batch of `batch` images.
    public static func run(_ denoiser: Denoiser, clean: Tensor, sigmas: [Float], seed: UInt64,
                           condition: (Int) -> Condition = { _ in .unconditional }, batch: Int = 8) throws -> [Row] {
        guard clean.rank == 4, clean.shape[0] > 0 else {
            throw TweedieError.badInput("denoising evaluation: images must be [N, C, H, W], got \(clean.shape)")
        }
        let n = clean.shape[0], per = clean.count / n, rest = Array(clean.shape.dropFirst())
        return try sigmas.enumerated().map { level, sigma in
            guard sigma.isFinite, sigma > 0 else { throw TweedieError.badInput("--sigma: must be positive, got \(sigma)") }
            var noisyPSNR = 0.0, denoisedPSNR = 0.0, denoisedSSIM = 0.0
            for start in stride(from: 0, to: n, by: batch) {
                let count = min(batch, n - start)
                let x = Tensor(shape: [count] + rest, data: Array(clean.data[(start * per)..<((start + count) * per)]))
                let model = Tensor(shape: x.shape, data: x.data.map { 2 * $0 - 1 })
                // Each level and image draws its own stream, so adding a level or an image moves no other number.
                let eps = try PhiloxNoise(seed: seed, firstImage: start)
                    .normal(shape: [count] + rest, purpose: .custom(UInt32(level)))
                let noisy = Tensor(shape: model.shape, data: zip(model.data, eps.data).map { $0 + sigma * $1 })
                let x0 = try denoiser.denoise(noisy, sigma: sigma, condition: condition(count))
                for i in 0..<count {
                    let truth = image(x, i, rest), before = unit(image(noisy, i, rest)), after = unit(image(x0, i, rest))
                    noisyPSNR += try ImageMetrics.psnr(before, truth, dataRange: 1)
                    denoisedPSNR += try ImageMetrics.psnr(after, truth, dataRange: 1)
                    denoisedSSIM += try ImageMetrics.ssim(after, truth, dataRange: 1)
                }
            }
            return Row(sigma: sigma, noisyPSNR: noisyPSNR / Double(n), denoisedPSNR: denoisedPSNR / Double(n),
                       denoisedSSIM: denoisedSSIM / Double(n))
        }
    }

    /// Image `i` of a batch as [C, H, W].
    private static func image(_ t: Tensor, _ i: Int, _ rest: [Int]) -> Tensor {
        let per = rest.reduce(1, *)
        return Tensor(shape: rest, data: Array(t.data[(i * per)..<((i + 1) * per)]))
    }

    /// Model space [-1, 1] to [0, 1], clipped as an image writer would.
    private static func unit(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, data: t.data.map { min(max(($0 + 1) / 2, 0), 1) }) }
}
