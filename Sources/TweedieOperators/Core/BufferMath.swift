/// Vector-space operations on `Buffer`s, accumulated in Double where they reduce. Real and complex buffers share
/// one code path over the float array: for complex buffers the interleaved layout makes the real part of the
/// Hermitian inner product, the squared norm, axpy and scaling by a real number plain float loops.
public enum BufferMath {
    /// The Hermitian inner product ⟨a, b⟩ = Σ conj(aᵢ) bᵢ as (re, im); im is 0 for real buffers.
    public static func dot(_ a: Buffer, _ b: Buffer) -> (re: Double, im: Double) {
        precondition(a.isComplex == b.isComplex && a.data.count == b.data.count,
                     "BufferMath.dot: \(a.shape) and \(b.shape) (complex \(a.isComplex)/\(b.isComplex)) differ")
        var re = 0.0, im = 0.0
        a.data.withUnsafeBufferPointer { x in
            b.data.withUnsafeBufferPointer { y in
                if a.isComplex {
                    for i in 0..<(x.count / 2) {
                        let (ar, ai) = (Double(x[2 * i]), Double(x[2 * i + 1]))
                        let (br, bi) = (Double(y[2 * i]), Double(y[2 * i + 1]))
                        re += ar * br + ai * bi
                        im += ar * bi - ai * br
                    }
                } else {
                    for i in 0..<x.count { re += Double(x[i]) * Double(y[i]) }
                }
            }
        }
        return (re, im)
    }

    /// ‖a‖² = ⟨a, a⟩.
    public static func squaredNorm(_ a: Buffer) -> Double {
        var s = 0.0
        a.data.withUnsafeBufferPointer { x in for v in x { s += Double(v) * Double(v) } }
        return s
    }

    /// y ← y + α x for a complex (or real) scalar α = (re, im); im must be 0 for real buffers.
    public static func axpy(_ alpha: (re: Double, im: Double), _ x: Buffer, _ y: inout Buffer) {
        precondition(x.isComplex == y.isComplex && x.data.count == y.data.count, "BufferMath.axpy: buffers differ")
        precondition(y.isComplex || alpha.im == 0, "BufferMath.axpy: complex scalar on a real buffer")
        let (ar, ai) = (Float(alpha.re), Float(alpha.im))
        x.data.withUnsafeBufferPointer { px in
            y.data.withUnsafeMutableBufferPointer { py in
                if y.isComplex && ai != 0 {
                    for i in 0..<(px.count / 2) {
                        let (xr, xi) = (px[2 * i], px[2 * i + 1])
                        py[2 * i] += ar * xr - ai * xi
                        py[2 * i + 1] += ar * xi + ai * xr
                    }
                } else {
                    for i in 0..<px.count { py[i] += ar * px[i] }
                }
            }
        }
    }

    /// a·ca + b·cb for real scalars.
    public static func lincomb(_ a: Buffer, _ ca: Float, _ b: Buffer, _ cb: Float) -> Buffer {
        precondition(a.isComplex == b.isComplex && a.data.count == b.data.count, "BufferMath.lincomb: buffers differ")
        var out = a
        out.data.withUnsafeMutableBufferPointer { o in
            b.data.withUnsafeBufferPointer { pb in
                for i in 0..<o.count { o[i] = o[i] * ca + pb[i] * cb }
            }
        }
        return out
    }

    /// a + b.
    public static func add(_ a: Buffer, _ b: Buffer) -> Buffer { lincomb(a, 1, b, 1) }
    /// a − b.
    public static func sub(_ a: Buffer, _ b: Buffer) -> Buffer { lincomb(a, 1, b, -1) }

    /// a·s for a real scalar.
    public static func scaled(_ a: Buffer, _ s: Float) -> Buffer {
        var out = a
        out.data.withUnsafeMutableBufferPointer { o in for i in 0..<o.count { o[i] *= s } }
        return out
    }
}
