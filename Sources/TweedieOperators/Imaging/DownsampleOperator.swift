import TweedieCore

/// Super-resolution: box down-sampling by an integer factor s, y[i, j] = mean of the s x s block x[s i ..< s i + s,
/// s j ..< s j + s] (numpy `x.reshape(H/s, s, W/s, s).mean((1, 3))`); the adjoint spreads y[i, j] / s² over its block.
public struct DownsampleOperator: LinearOperator {
    /// Image rows and columns.
    public let height: Int, width: Int
    /// The factor s.
    public let factor: Int

    /// Down-sampling of `height` x `width` images by `factor`, which must divide both.
    public init(height: Int, width: Int, factor: Int) throws {
        guard factor >= 1 else { throw TweedieError.badInput("--scale: must be at least 1, got \(factor)") }
        guard height % factor == 0, width % factor == 0 else {
            throw TweedieError.badInput("--scale \(factor) does not divide the \(height)x\(width) image")
        }
        self.height = height
        self.width = width
        self.factor = factor
    }

    public var domainShape: [Int] { [height, width] }
    public var domainIsComplex: Bool { false }
    public var rangeShape: [Int] { [height / factor, width / factor] }
    public var rangeIsComplex: Bool { false }

    public func apply(_ x: Buffer) -> Buffer {
        checkDomain(x, "DownsampleOperator")
        let (s, w, lw) = (factor, width, width / factor)
        var y = zeroRange()
        let inv = 1 / Float(s * s)
        for i in 0..<(height / s) {
            for j in 0..<lw {
                var acc: Float = 0
                for a in 0..<s { for b in 0..<s { acc += x.data[(i * s + a) * w + j * s + b] } }
                y.data[i * lw + j] = acc * inv
            }
        }
        return y
    }

    public func adjoint(_ y: Buffer) -> Buffer {
        checkRange(y, "DownsampleOperator")
        let (s, w, lw) = (factor, width, width / factor)
        var x = zeroDomain()
        let inv = 1 / Float(s * s)
        for r in 0..<height {
            for c in 0..<w { x.data[r * w + c] = y.data[(r / s) * lw + c / s] * inv }
        }
        return x
    }
}
