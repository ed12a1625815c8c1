import TweedieCore

/// 64x64 axial slices of the Colin27 brain ("ch2": T1-weighted average of 27 scans of one subject, whole head with
/// scalp, 1 mm MNI grid 181x217x181, uint8) from Debian's `mricron-data`. The package also ships `ch2better.nii.gz`
/// (0.5 mm, 301x370x316, skull-stripped brain only, 35 MB decompressed against 7 MB): at 64x64 its extra resolution
/// is averaged away and the stripped head is a less natural MR image, so `ch2` fits best and is the one used.
///
/// Recipe ("colin27-axial-v1"): the volume [Z, Y, X] is scaled by `(v - p0.5) / (p99.5 - p0.5)` clipped to [0, 1],
/// percentiles of the whole volume (numpy's linear rule; p0.5 is the black background, 0). Axial slice `z` is the
/// plane [Y, X] flipped so anterior is up (row 0 = largest y), x left to right as stored (subject's right on the
/// right), zero-padded symmetrically to a 217x217 square, then area-resampled to 64x64 (`AreaResize`).
public enum Colin27 {
    /// Where Debian installs the file.
    public static let defaultPath = "/usr/share/mricron/templates/ch2.nii.gz"
    /// The apt package that provides it.
    public static let package = "mricron-data"
    /// The volume's expected [Z, Y, X] shape; the slice lists refer to this grid.
    public static let expectedShape = [181, 217, 181]
    /// Output side.
    public static let side = 64
    /// Recipe identifier for model cards.
    public static let recipe = "colin27-axial-v1"
    /// Normalisation percentiles (of the whole volume).
    public static let lowPercentile = 0.5, highPercentile = 99.5

    /// The axial slices used: z = 20...159 (skull base and orbits up to the vertex), 140 slices 1 mm apart.
    public static let sliceIndices = Array(20...159)
    /// Held-out slices, every 20 mm; never used for training.
    public static let heldOutSlices = [30, 50, 70, 90, 110, 130, 150]
    /// Slices within this many millimetres of a held-out slice are excluded from training as well: at 64x64
    /// (3.4 mm pixels) neighbouring 1 mm slices are near copies and would leak the held-out anatomy.
    public static let exclusionRadius = 3
    /// The training slices: `sliceIndices` minus every slice within `exclusionRadius` of a held-out one (91 slices).
    public static let trainingSlices = sliceIndices.filter { z in
        heldOutSlices.allSatisfy { abs($0 - z) > exclusionRadius }
    }

    /// Which slices to return.
    public enum Split: Sendable {
        case training, heldOut, all
        /// The slice indices of the split.
        public var slices: [Int] {
            switch self {
            case .training: return Colin27.trainingSlices
            case .heldOut: return Colin27.heldOutSlices
            case .all: return Colin27.sliceIndices
            }
        }
    }

    /// Reads the volume, checking it is the expected 1 mm grid. Missing file names the package.
    public static func loadVolume(path: String = defaultPath) throws -> NIfTIImage {
        let image = try NIfTIImage.read(path, package: package)
        guard image.volume.shape == expectedShape else {
            throw TweedieError.badInput("\(path): NIfTI dim: volume [Z, Y, X] is \(image.volume.shape), "
                                        + "expected \(expectedShape) (Colin27 ch2 on the 1 mm grid)")
        }
        return image
    }

    /// The slices of `split` as [n, 1, side, side] in [0, 1].
    public static func slices(_ split: Split, path: String = defaultPath, side: Int = side) throws -> Tensor {
        slices(split.slices, of: try loadVolume(path: path).volume, side: side)
    }

    /// The normalisation range (low and high percentiles) of a volume.
    public static func normalisationRange(_ volume: Tensor) -> (low: Float, high: Float) {
        let p = volume.withUnsafeBufferPointer { Percentiles.of($0, [lowPercentile, highPercentile]) } ?? [0, 1]
        return (p[0], p[1])
    }

    /// Axial slices `indices` of a [Z, Y, X] volume, normalised and resampled as the recipe says. Pass `range`
    /// (from `normalisationRange`) to skip recomputing the volume's percentiles on repeated calls.
    public static func slices(_ indices: [Int], of volume: Tensor, range: (low: Float, high: Float)? = nil,
                              side: Int = side) -> Tensor {
        precondition(volume.rank == 3, "Colin27.slices: volume must be [Z, Y, X], got \(volume.shape)")
        let (ny, nx) = (volume.shape[1], volume.shape[2])
        let (low, high) = range ?? normalisationRange(volume)
        let scale = high > low ? 1 / (high - low) : 0
        let square = max(ny, nx)
        let top = (square - ny) / 2, left = (square - nx) / 2
        return Tensor(shape: [indices.count, 1, side, side]) { out in
            guard let po = out.baseAddress else { return }
            volume.withUnsafeBufferPointer { vol in
                parallelFor(indices.count) { n in
                    let z = indices[n]
                    precondition(z >= 0 && z < volume.shape[0], "Colin27.slices: z \(z) outside the volume")
                    let plane = UnsafeMutablePointer<Float>.allocate(capacity: square * square)
                    defer { plane.deallocate() }
                    plane.initialize(repeating: 0, count: square * square)
                    for r in 0..<ny {
                        let y = ny - 1 - r  // anterior up
                        for x in 0..<nx {
                            let v = (vol[(z * ny + y) * nx + x] - low) * scale
                            plane[(top + r) * square + left + x] = min(max(v, 0), 1)
                        }
                    }
                    AreaResize.resize(plane, height: square, width: square, into: po + n * side * side,
                                      outHeight: side, outWidth: side)
                }
            }
        }
    }
}
