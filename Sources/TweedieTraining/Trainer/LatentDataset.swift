import Foundation
import TweedieCore
import TweedieModels

/// A pixel data set seen through an AutoencoderKL (recipe key `vae`): sample i is
/// scaling_factor · (posterior mean of image i − shift_factor), the latent a diffusers pipeline denoises.
///
/// The posterior mean, not a sample per epoch: the autoencoders trained here weigh the KL term by 1e-6, so the
/// posterior is narrow (vae32 at step 2,249, first 1,024 training images, through diffusers: rms posterior std
/// 0.069 against a spread of the means of 1.68, 4 %; sampling would change the latents' variance by 0.2 %), and a
/// fixed latent per image can be cached, needs no noise stream of its own and keeps `--resume` exact.
///
/// Encoding is lazy and cached in memory (4·8·8 floats per image, 61 MB for Fashion-MNIST's 60,000): an image is
/// encoded with the other images of its block of `chunk` consecutive indices, never with whatever shares its
/// batch, so its latent is the same bits whichever step first asks for it (convolution kernels may round
/// differently at another batch size), and a resumed run sees what an uninterrupted one saw.
public final class LatentDataset: TrainingDataset {
    /// The images being encoded.
    public let images: TrainingDataset
    /// The autoencoder.
    public let vae: AutoencoderKL
    /// The autoencoder's folder (as the recipe names it).
    public let folder: String
    /// SHA-256 of the folder's config and weights files (one digest over both, in that order): what `--resume`
    /// compares.
    public let fingerprint: String
    /// Images encoded together.
    public static let chunk = 64

    public let sampleShape: [Int]
    private var storage: [Float]
    private var encoded: [Bool]
    private var labels: [Int]

    /// Loads the AutoencoderKL in `folder` and checks it reads `images`; failures are `badInput` naming `--vae`.
    public init(images: TrainingDataset, vaeFolder folder: String, dataName: String) throws {
        let configPath = (folder as NSString).appendingPathComponent(ModelFolder.configFile)
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw TweedieError.badInput("--vae \(folder): no \(ModelFolder.configFile) (expected an AutoencoderKL folder)")
        }
        let config = try JSONConfig(path: configPath)
        let className = try config.string("_class_name") ?? "(no _class_name)"
        guard className == "AutoencoderKL" else {
            throw TweedieError.badInput("--vae \(folder): a \(className) folder, not an AutoencoderKL")
        }
        guard let vae = try ModelFolder.load(folder) as? AutoencoderKL else {
            throw TweedieError.badInput("--vae \(folder): did not load as an AutoencoderKL")
        }
        let shape = images.sampleShape, f = vae.downsamplingFactor
        let side = try config.int("sample_size")
        guard shape.count == 3, shape[0] == vae.config.inChannels, shape[1] % f == 0, shape[2] % f == 0,
              side == nil || (side == shape[1] && side == shape[2]) else {
            let reads = "\(vae.config.inChannels)x\(side.map(String.init) ?? "?")x\(side.map(String.init) ?? "?")"
            throw TweedieError.badInput("--vae \(folder): an AutoencoderKL for \(reads) images (in_channels, "
                                        + "sample_size), --data \(dataName) has "
                                        + shape.map(String.init).joined(separator: "x"))
        }
        self.images = images
        self.vae = vae
        self.folder = folder
        fingerprint = try LatentDataset.checksum([configPath, (folder as NSString).appendingPathComponent(ModelFolder.weightsFile)])
        sampleShape = vae.latentShape(height: shape[1], width: shape[2])
        storage = [Float](repeating: 0, count: images.count * sampleShape.reduce(1, *))
        encoded = [Bool](repeating: false, count: (images.count + Self.chunk - 1) / Self.chunk)
        labels = [Int](repeating: 0, count: images.classNames == nil ? 0 : images.count)
    }

    public var count: Int { images.count }
    public var classNames: [String]? { images.classNames }
    public var recipe: String {
        "\(images.recipe), as latents of the AutoencoderKL \(folder) (posterior means x scaling_factor "
            + "\(vae.scalingFactor))"
    }

    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]?) {
        let per = sampleShape.reduce(1, *)
        for i in indices where !encoded[i / Self.chunk] {
            // TrainingDataset.batch cannot throw; the shapes were checked in init, so a failure here is a bug.
            do { try encodeChunk(i / Self.chunk) } catch { fatalError("LatentDataset: encoding failed: \(error)") }
        }
        let out = Tensor(shape: [indices.count] + sampleShape) { dst in
            storage.withUnsafeBufferPointer { src in
                for (k, i) in indices.enumerated() {
                    (dst.baseAddress! + k * per).update(from: src.baseAddress! + i * per, count: per)
                }
            }
        }
        return (out, labels.isEmpty ? nil : indices.map { labels[$0] })
    }

    /// Model-space latents [N, C, h, w] -> images [N, C', H, W] (diffusers: decode(latents / scaling_factor + shift)).
    public func decode(_ latents: Tensor) throws -> Tensor {
        let s = 1 / vae.scalingFactor, shift = vae.config.shiftFactor ?? 0
        return try vae.decode(Tensor(shape: latents.shape, data: latents.data.map { $0 * s + shift }))
    }

    /// Encodes every image not yet encoded (a model card's statistics, or to pay the cost up front).
    public func encodeAll() throws {
        for c in encoded.indices where !encoded[c] { try encodeChunk(c) }
    }

    private func encodeChunk(_ c: Int) throws {
        let start = c * Self.chunk, end = min(images.count, start + Self.chunk)
        let pixels = images.batch(Array(start..<end))
        let mean = try vae.encode(pixels.images)
        if let l = pixels.labels, !labels.isEmpty { labels.replaceSubrange(start..<end, with: l) }
        let scale = vae.scalingFactor, shift = vae.config.shiftFactor ?? 0
        let per = sampleShape.reduce(1, *)
        mean.withUnsafeBufferPointer { src in
            for k in 0..<src.count { storage[start * per + k] = (src[k] - shift) * scale }
        }
        encoded[c] = true
    }

    /// SHA-256 over the files' bytes, one after the other, as 64 hex digits.
    static func checksum(_ paths: [String]) throws -> String {
        var bytes = [UInt8]()
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TweedieError.badInput("--vae: cannot read \(path)")
            }
            bytes += data
        }
        return SHA256.hex(bytes)
    }
}
