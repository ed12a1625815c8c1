/// Elementwise a + b of two tensors with the same shape.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor { zipElements(a, b, "add", { $0 + $1 }, { $0 + $1 }) }

/// Elementwise a − b of two tensors with the same shape.
public func sub(_ a: Tensor, _ b: Tensor) -> Tensor { zipElements(a, b, "sub", { $0 - $1 }, { $0 - $1 }) }

/// Elementwise a · b of two tensors with the same shape.
public func mul(_ a: Tensor, _ b: Tensor) -> Tensor { zipElements(a, b, "mul", { $0 * $1 }, { $0 * $1 }) }

/// Every element multiplied by `s`.
public func scale(_ x: Tensor, _ s: Float) -> Tensor { mapElements(x) { $0 * s } }

extension Tensor {
    /// Elementwise sum of same-shape tensors.
    public static func + (a: Tensor, b: Tensor) -> Tensor { add(a, b) }
    /// Elementwise difference of same-shape tensors.
    public static func - (a: Tensor, b: Tensor) -> Tensor { sub(a, b) }
    /// Elementwise product of same-shape tensors.
    public static func * (a: Tensor, b: Tensor) -> Tensor { mul(a, b) }
    /// Every element multiplied by a scalar.
    public static func * (x: Tensor, s: Float) -> Tensor { scale(x, s) }
}

/// Applies `f` pairwise to two same-shape tensors, in parallel chunks.
@inline(__always)
func zipElements(_ a: Tensor, _ b: Tensor, _ op: String, _ f: (Float, Float) -> Float) -> Tensor {
    zipChunks(a, b, op) { x, y, po, range in
        for i in range { po[i] = f(x[i], y[i]) }
    }
}

/// The output of a pairwise op on two same-shape tensors, `body` filling each parallel chunk `range` of it from
/// the two inputs.
@inline(__always)
private func zipChunks(_ a: Tensor, _ b: Tensor, _ op: String,
                       _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void)
    -> Tensor {
    precondition(a.shape == b.shape, "\(op): shapes \(a.shape) and \(b.shape) differ")
    return Tensor(shape: a.shape) { out in
        guard let po = out.baseAddress else { return }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let x = pa.baseAddress!, y = pb.baseAddress!
                parallelChunks(a.count) { range in body(x, y, po, range) }
            }
        }
    }
}

/// `zipElements` with an eight-lane body for the bulk and the scalar one for the tail: the parallel loop calls its
/// closure rather than inlining it, so a scalar body costs a call per element and never vectorises (SiLU's backward
/// was 13 % of a 2-thread fashion32 training step). `f8` must compute lane for lane what `f` does.
@inline(__always)
func zipElements(_ a: Tensor, _ b: Tensor, _ op: String, _ f8: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>,
                 _ f: (Float, Float) -> Float) -> Tensor {
    zipChunks(a, b, op) { x, y, po, range in
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            store8(f8(load8(x + i), load8(y + i)), po + i)
            i += 8
        }
        while i < range.upperBound {
            po[i] = f(x[i], y[i])
            i += 1
        }
    }
}
