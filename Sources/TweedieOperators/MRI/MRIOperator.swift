/// Single-coil Cartesian MRI: y = M ⊙ F x with F the centred orthonormal 2-D FFT (`fft2c`, norm "ortho") and M a
/// 0/1 sampling mask; Aᴴ y = F⁻¹(M ⊙ y). The image may be complex, or real (a grey prior): then A maps ℝ^{HW} into
/// complex k-space and its adjoint is Re F⁻¹(M ⊙ y), which keeps the data-consistency solve on real images.
public struct MRIOperator: LinearOperator {
    /// Image rows and columns (k-space has the same size).
    public let height: Int, width: Int
    /// Sampling mask [H, W] in the centred k-space layout, 1 where measured.
    public let mask: [Float]
    /// Whether the image is complex (else real).
    public let complexImage: Bool
    private let fft: FFT2D

    /// An operator with `mask` (H·W entries) over a real (`complexImage` false) or complex image.
    public init(height: Int, width: Int, mask: [Float], complexImage: Bool = false) {
        precondition(mask.count == height * width, "MRIOperator: mask of \(mask.count) for \(height)x\(width)")
        self.height = height
        self.width = width
        self.mask = mask
        self.complexImage = complexImage
        self.fft = FFT2D.shared(height: height, width: width)
    }

    public var domainShape: [Int] { [height, width] }
    public var domainIsComplex: Bool { complexImage }
    public var rangeShape: [Int] { [height, width] }
    public var rangeIsComplex: Bool { true }

    /// Measured fraction of k-space (1 / acceleration).
    public var samplingFraction: Double { Double(mask.reduce(0, +)) / Double(mask.count) }

    public func apply(_ x: Buffer) -> Buffer {
        checkDomain(x, "MRIOperator")
        var y = x.complexified()
        y.data.withUnsafeMutableBufferPointer { p in
            fft.centered(UnsafePointer(p.baseAddress!), p.baseAddress!, inverse: false)
            MRIOperator.applyMask(mask, p.baseAddress!, planes: 1)
        }
        return y
    }

    public func adjoint(_ y: Buffer) -> Buffer {
        checkRange(y, "MRIOperator")
        var x = y
        x.data.withUnsafeMutableBufferPointer { p in
            MRIOperator.applyMask(mask, p.baseAddress!, planes: 1)
            fft.centered(UnsafePointer(p.baseAddress!), p.baseAddress!, inverse: true)
        }
        return complexImage ? x : Buffer(shape: x.shape, isComplex: false, data: x.real)
    }

    /// Noise only on sampled k-space: unmeasured entries stay exactly zero.
    public func addNoise(to y: Buffer, sigma: Float, normals: Buffer) -> Buffer {
        var out = BufferMath.lincomb(y, 1, normals, sigma)
        out.data.withUnsafeMutableBufferPointer { MRIOperator.applyMask(mask, $0.baseAddress!, planes: y.count / mask.count) }
        return out
    }

    /// Multiplies `planes` consecutive interleaved complex planes by the real mask in place.
    static func applyMask(_ mask: [Float], _ p: UnsafeMutablePointer<Float>, planes: Int) {
        let n = mask.count
        mask.withUnsafeBufferPointer { m in
            for c in 0..<planes {
                let base = p + 2 * c * n
                for i in 0..<n {
                    base[2 * i] *= m[i]
                    base[2 * i + 1] *= m[i]
                }
            }
        }
    }
}
