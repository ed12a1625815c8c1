import TweedieCore
import TweedieData
import TweedieImaging
import TweedieModels

/// How well an AutoencoderKL reconstructs images: decode(posterior mean of encode(x)) against x, PSNR and SSIM
/// per image in [0, 1] (data range 1, clipped as an image writer would), with their mean and standard deviation.
public enum AutoencoderEvaluation {
    /// The figures over `count` images.
    public struct Summary {
        public var count: Int
        public var psnrMean: Double, psnrStd: Double
        public var ssimMean: Double, ssimStd: Double
    }

    /// The first `count` images of the colourised Fashion-MNIST test split (the training recipe's colours).
    public static func fashionTest(count: Int, directory: String = FashionMNIST.defaultDirectory) throws -> Tensor {
        let data = try FashionMNIST.load(split: .test, directory: directory)
        guard count >= 1 else { throw TweedieError.badInput("--count: must be at least 1, got \(count)") }
        return ClassLinkedHue.images(data, indices: Array(0..<min(count, data.count)), seed: 0)
    }

    /// Reconstructs `images` [N, C, H, W] in [-1, 1] in batches of `batch`.
    public static func run(_ vae: AutoencoderKL, images: Tensor, batch: Int = 32) throws -> Summary {
        guard images.rank == 4, images.shape[0] > 0 else {
            throw TweedieError.badInput("autoencoder evaluation: images must be [N, C, H, W], got \(images.shape)")
        }
        let n = images.shape[0], rest = Array(images.shape.dropFirst()), per = rest.reduce(1, *)
        var psnr: [Double] = [], ssim: [Double] = []
        for start in stride(from: 0, to: n, by: batch) {
            let count = min(batch, n - start)
            let x = Tensor(shape: [count] + rest, data: Array(images.data[(start * per)..<((start + count) * per)]))
            let y = try vae.decode(try vae.encode(x))
            for i in 0..<count {
                let truth = unit(x, i, rest), out = unit(y, i, rest)
                psnr.append(try ImageMetrics.psnr(out, truth, dataRange: 1))
                ssim.append(try ImageMetrics.ssim(out, truth, dataRange: 1))
            }
        }
        func stats(_ v: [Double]) -> (Double, Double) {
            let m = v.reduce(0, +) / Double(v.count)
            return (m, (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(1, v.count - 1))).squareRoot())
        }
        let (pm, ps) = stats(psnr), (sm, ss) = stats(ssim)
        return Summary(count: n, psnrMean: pm, psnrStd: ps, ssimMean: sm, ssimStd: ss)
    }

    /// Image `i` mapped from [-1, 1] to [0, 1] and clipped.
    private static func unit(_ t: Tensor, _ i: Int, _ rest: [Int]) -> Tensor {
        let per = rest.reduce(1, *)
        return Tensor(shape: rest, data: t.data[(i * per)..<((i + 1) * per)].map { min(max(($0 + 1) / 2, 0), 1) })
    }
}
