import TweedieCore
import TweedieData

/// The `phantom64` training stream: grey 64x64 images, unconditional, half random-ellipse phantoms and half
/// augmented axial slices of the Colin27 brain (training slices only; `Colin27.heldOutSlices` and their
/// neighbours never appear). Even index 2k is ellipse phantom k; odd index 2k + 1 is training slice
/// k mod 91 under the random flip / rotation / zoom / shift `SliceAugmentation.random(seed:index: k)`.
public struct PhantomPriorDataset: TrainingDataset {
    public let count: Int
    /// Image side (the brain slices are resampled to it).
    public let side: Int
    /// Seed of the ellipses and of the augmentations.
    public let seed: UInt64
    /// The training slices [n, 1, side, side] in [0, 1].
    public let slices: Tensor

    /// Reads the Colin27 volume (Debian's `mricron-data`; a missing file names the package).
    public init(count: Int = 60_000, side: Int = 64, seed: UInt64 = 0, volumePath: String = Colin27.defaultPath) throws {
        try self.init(count: count, side: side, seed: seed,
                      slices: Colin27.slices(.training, path: volumePath, side: side))
    }

    /// Uses `slices` [n, 1, side, side] in [0, 1] as the brain half (tests).
    public init(count: Int, side: Int, seed: UInt64, slices: Tensor) throws {
        guard slices.rank == 4, slices.shape[0] > 0, slices.shape[1] == 1, slices.shape[2] == side,
              slices.shape[3] == side else {
            throw TweedieError.badInput("phantom data: slices must be [n, 1, \(side), \(side)], got \(slices.shape)")
        }
        self.count = count
        self.side = side
        self.seed = seed
        self.slices = slices
    }

    public var sampleShape: [Int] { [1, side, side] }
    public var classNames: [String]? { nil }
    public var recipe: String {
        "\(count) indices at \(side)x\(side), seed \(seed): even indices \(RandomEllipses.recipe) phantoms, odd "
            + "indices \(Colin27.recipe) training slices (\(slices.shape[0]) slices, held out: "
            + "\(Colin27.heldOutSlices.map(String.init).joined(separator: ", ")) ± \(Colin27.exclusionRadius) mm) "
            + "with a random flip, ±10° rotation, ±8 % zoom and ±3 px shift"
    }

    /// Augmentations draw from their own stream so they never correlate with the ellipse uniforms.
    public var augmentationSeed: UInt64 { seed ^ 0x5EED_B4A1_2C0F_FEE5 }

    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]?) {
        let plane = side * side
        var out = Tensor(shape: [indices.count, 1, side, side], repeating: 0)
        out.withUnsafeMutableBufferPointer { dst in
            slices.withUnsafeBufferPointer { src in
                let po = dst.baseAddress!, ps = src.baseAddress!
                parallelFor(indices.count) { n in
                    let i = indices[n], k = i / 2
                    let target = po + n * plane
                    if i % 2 == 0 {
                        EllipsePhantom.render(RandomEllipses.ellipses(seed: seed, index: k), height: side, width: side,
                                              sampling: .pixelCentres, clip: 0...1, into: target)
                    } else {
                        let slice = k % slices.shape[0]
                        SliceAugmentation.random(seed: augmentationSeed, index: k)
                            .apply(ps + slice * plane, side: side, into: target)
                    }
                    // [0, 1] intensities to the model space [-1, 1].
                    for j in 0..<plane { target[j] = 2 * min(max(target[j], 0), 1) - 1 }
                }
            }
        }
        return (out, nil)
    }
}
