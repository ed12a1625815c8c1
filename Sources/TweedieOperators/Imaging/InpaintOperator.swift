import TweedieCore

/// Inpainting: y = M ⊙ x for a 0/1 pixel mask M (1 observed), the same shape in and out; self-adjoint.
public struct InpaintOperator: LinearOperator {
    /// Image rows and columns.
    public let height: Int, width: Int
    /// Observed pixels, [H, W] row-major.
    public let mask: [Float]

    /// Mask families.
    public enum Kind: String, CaseIterable, Sendable {
        /// A centred missing box covering `missing` of the area (side √missing · H by √missing · W, rounded).
        case box
        /// round(missing · H · W) pixels missing, drawn uniformly without replacement.
        case random
    }

    /// The mask of `kind` with fraction `missing` of the pixels unobserved (box: its area), random draws from
    /// `SplitMix64(seed:)`.
    public static func mask(_ kind: Kind, height h: Int, width w: Int, missing: Double, seed: UInt64) throws -> [Float] {
        guard missing >= 0, missing < 1 else {
            throw TweedieError.badInput("--missing: the missing fraction must be in [0, 1), got \(missing)")
        }
        var m = [Float](repeating: 1, count: h * w)
        switch kind {
        case .box:
            let side = missing.squareRoot()
            let (bh, bw) = (Int((side * Double(h)).rounded()), Int((side * Double(w)).rounded()))
            let (top, left) = ((h - bh) / 2, (w - bw) / 2)
            for i in top..<(top + bh) { for j in left..<(left + bw) { m[i * w + j] = 0 } }
        case .random:
            var order = Array(0..<(h * w)), rng = SplitMix64(seed: seed)
            let count = Int((missing * Double(h * w)).rounded())
            for k in 0..<count {
                let j = k + rng.index(below: order.count - k)
                order.swapAt(k, j)
                m[order[k]] = 0
            }
        }
        return m
    }

    /// An operator observing the pixels where `mask` is 1.
    public init(height: Int, width: Int, mask: [Float]) {
        precondition(mask.count == height * width, "InpaintOperator: mask of \(mask.count) for \(height)x\(width)")
        self.height = height
        self.width = width
        self.mask = mask
    }

    public var domainShape: [Int] { [height, width] }
    public var domainIsComplex: Bool { false }
    public var rangeShape: [Int] { [height, width] }
    public var rangeIsComplex: Bool { false }

    public func apply(_ x: Buffer) -> Buffer {
        checkDomain(x, "InpaintOperator")
        var y = x
        for i in 0..<y.data.count { y.data[i] *= mask[i] }
        return y
    }

    public func adjoint(_ y: Buffer) -> Buffer {
        checkRange(y, "InpaintOperator")
        var x = y
        for i in 0..<x.data.count { x.data[i] *= mask[i] }
        return x
    }

    /// Noise on observed pixels only.
    public func addNoise(to y: Buffer, sigma: Float, normals: Buffer) -> Buffer {
        apply(BufferMath.lincomb(y, 1, normals, sigma))
    }
}
