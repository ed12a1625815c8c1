/// Multi-coil Cartesian MRI: A x = [M ⊙ F(S_c x)]_c for coil maps S_c, and Aᴴ k = Σ_c conj(S_c) F⁻¹(M ⊙ k_c), with F
/// the centred orthonormal FFT; k-space is complex [C, H, W]. As for `MRIOperator`, a real image gives the adjoint
/// Re Σ_c conj(S_c) F⁻¹(M ⊙ k_c).
public struct MulticoilMRIOperator: LinearOperator {
    /// Image rows and columns.
    public let height: Int, width: Int
    /// Sampling mask [H, W], shared by all coils.
    public let mask: [Float]
    /// Sensitivity maps, complex [C, H, W].
    public let maps: Buffer
    /// Whether the image is complex (else real).
    public let complexImage: Bool
    private let fft: FFT2D

    /// An operator over `maps` (complex [C, H, W]) and `mask` (H·W entries).
    public init(maps: Buffer, mask: [Float], complexImage: Bool = false) {
        precondition(maps.isComplex && maps.shape.count == 3, "MulticoilMRIOperator: maps must be complex [C, H, W]")
        let (h, w) = (maps.shape[1], maps.shape[2])
        precondition(mask.count == h * w, "MulticoilMRIOperator: mask of \(mask.count) for \(h)x\(w)")
        self.height = h
        self.width = w
        self.mask = mask
        self.maps = maps
        self.complexImage = complexImage
        self.fft = FFT2D.shared(height: h, width: w)
    }

    /// Number of coils.
    public var coils: Int { maps.shape[0] }
    public var domainShape: [Int] { [height, width] }
    public var domainIsComplex: Bool { complexImage }
    public var rangeShape: [Int] { [coils, height, width] }
    public var rangeIsComplex: Bool { true }

    public func apply(_ x: Buffer) -> Buffer {
        checkDomain(x, "MulticoilMRIOperator")
        let n = height * width
        var y = zeroRange()
        let xc = x.complexified()
        y.data.withUnsafeMutableBufferPointer { out in
            maps.data.withUnsafeBufferPointer { s in
                xc.data.withUnsafeBufferPointer { px in
                    for c in 0..<coils {
                        let plane = out.baseAddress! + 2 * c * n, sc = s.baseAddress! + 2 * c * n
                        for i in 0..<n {  // S_c x
                            let (sr, si, xr, xi) = (sc[2 * i], sc[2 * i + 1], px[2 * i], px[2 * i + 1])
                            plane[2 * i] = sr * xr - si * xi
                            plane[2 * i + 1] = sr * xi + si * xr
                        }
                        fft.centered(UnsafePointer(plane), plane, inverse: false)
                    }
                    MRIOperator.applyMask(mask, out.baseAddress!, planes: coils)
                }
            }
        }
        return y
    }

    public func adjoint(_ y: Buffer) -> Buffer {
        checkRange(y, "MulticoilMRIOperator")
        let n = height * width
        var masked = y
        var x = Buffer(shape: domainShape, isComplex: true)
        masked.data.withUnsafeMutableBufferPointer { k in
            MRIOperator.applyMask(mask, k.baseAddress!, planes: coils)
            maps.data.withUnsafeBufferPointer { s in
                x.data.withUnsafeMutableBufferPointer { out in
                    for c in 0..<coils {
                        let plane = k.baseAddress! + 2 * c * n, sc = s.baseAddress! + 2 * c * n
                        fft.centered(UnsafePointer(plane), plane, inverse: true)
                        for i in 0..<n {  // += conj(S_c) z
                            let (sr, si, zr, zi) = (sc[2 * i], sc[2 * i + 1], plane[2 * i], plane[2 * i + 1])
                            out[2 * i] += sr * zr + si * zi
                            out[2 * i + 1] += sr * zi - si * zr
                        }
                    }
                }
            }
        }
        return complexImage ? x : Buffer(shape: x.shape, isComplex: false, data: x.real)
    }

    /// Noise only on sampled k-space of every coil.
    public func addNoise(to y: Buffer, sigma: Float, normals: Buffer) -> Buffer {
        var out = BufferMath.lincomb(y, 1, normals, sigma)
        out.data.withUnsafeMutableBufferPointer { MRIOperator.applyMask(mask, $0.baseAddress!, planes: coils) }
        return out
    }
}
