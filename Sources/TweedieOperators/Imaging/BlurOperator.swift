import TweedieCore

/// Deblurring: circular convolution with a `BlurKernel` through the FFT, y = F⁻¹(K̂ · F x) (scipy's
/// `ndimage.convolve(x, k, mode="wrap")`), and the exact adjoint, correlation, F⁻¹(conj(K̂) · F y). Real images.
public struct BlurOperator: LinearOperator {
    /// Image rows and columns.
    public let height: Int, width: Int
    /// The point-spread function.
    public let kernel: BlurKernel
    /// K̂: the DFT of the kernel wrapped around (0, 0), interleaved complex, divided by H·W so the unnormalised
    /// forward/backward pair needs no further scaling.
    private let transfer: [Float]
    private let fft: FFT2D

    /// A blur of `height` x `width` images; the kernel must not be larger than the image.
    public init(height: Int, width: Int, kernel: BlurKernel) throws {
        guard kernel.size <= height, kernel.size <= width else {
            throw TweedieError.badInput("--kernel: a \(kernel.size)x\(kernel.size) kernel does not fit a "
                                        + "\(height)x\(width) image")
        }
        self.height = height
        self.width = width
        self.kernel = kernel
        let fft = FFT2D.shared(height: height, width: width)
        self.fft = fft
        let c = kernel.size / 2, scale = 1 / Float(height * width)
        transfer = fft.withScratch { s in
            for i in 0..<(2 * height * width) { s[i] = 0 }
            for a in 0..<kernel.size {
                for b in 0..<kernel.size {
                    let (i, j) = ((a - c + height) % height, (b - c + width) % width)
                    s[2 * (i * width + j)] += kernel.weights[a * kernel.size + b]
                }
            }
            fft.execute(s, inverse: false)
            return (0..<(2 * height * width)).map { s[$0] * scale }
        }
    }

    public var domainShape: [Int] { [height, width] }
    public var domainIsComplex: Bool { false }
    public var rangeShape: [Int] { [height, width] }
    public var rangeIsComplex: Bool { false }

    public func apply(_ x: Buffer) -> Buffer {
        checkDomain(x, "BlurOperator")
        return filter(x, conjugate: false)
    }

    public func adjoint(_ y: Buffer) -> Buffer {
        checkRange(y, "BlurOperator")
        return filter(y, conjugate: true)
    }

    private func filter(_ x: Buffer, conjugate: Bool) -> Buffer {
        let n = height * width
        var out = Buffer(shape: [height, width], isComplex: false)
        fft.withScratch { s in
            for i in 0..<n {
                s[2 * i] = x.data[i]
                s[2 * i + 1] = 0
            }
            fft.execute(s, inverse: false)
            let sign: Float = conjugate ? -1 : 1
            transfer.withUnsafeBufferPointer { k in
                for i in 0..<n {
                    let (kr, ki) = (k[2 * i], sign * k[2 * i + 1]), (zr, zi) = (s[2 * i], s[2 * i + 1])
                    s[2 * i] = kr * zr - ki * zi
                    s[2 * i + 1] = kr * zi + ki * zr
                }
            }
            fft.execute(s, inverse: true)
            for i in 0..<n { out.data[i] = s[2 * i] }
        }
        return out
    }
}
