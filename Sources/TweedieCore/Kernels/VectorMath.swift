// Internal building blocks shared by the forward and backward kernels: a branch-free exp the loop vectoriser
// can widen, and SIMD reductions (Float lanes, Double across chunks) for norms, softmax and their gradients.

/// exp(x) in Float32 without a libm call, so loops that use it vectorise. Cephes' expf polynomial
/// (about 2 ulp). Arguments are clamped to [-87.3, 88]: below, the result is the smallest normal
/// (≈1.2e-38) instead of a subnormal; above, a finite 1.65e38 instead of infinity — callers only use
/// it where such values are equivalent (softmax weights, sigmoid denominators).
@inline(__always)
func expApprox(_ x: Float) -> Float {
    let xc = min(max(x, -87.3), 88.0)
    // Round x·log2(e) to an integer with the 1.5·2^23 trick: its low mantissa bits then hold n.
    let magic: Float = 12_582_912
    let t = xc * 1.442_695_04 + magic
    let n = t - magic
    // r = x − n·ln2, ln2 split in two so the product is exact in the high part.
    var r = xc - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let y = p * (r * r) + r + 1
    let bits = (t.bitPattern &- magic.bitPattern &+ 127) &<< 23
    return y * Float(bitPattern: bits)
}

/// `expApprox` on eight lanes: the same operations in the same order, so each lane equals the scalar result bit
/// for bit (what lets `silu` and `gelu` take this path without moving a golden).
@inline(__always)
func expApprox(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // A clamp by masks: the stdlib's pointwiseMin/Max are out-of-line, branching lane by lane (seen in perf).
    let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.0)
    let xc = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
    let magic: Float = 12_582_912
    let t = xc * 1.442_695_04 + magic
    let n = t - magic
    var r = xc - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let y = p * (r * r) + r + 1
    let tb = unsafeBitCast(t, to: SIMD8<UInt32>.self)
    let bits = (tb &- magic.bitPattern &+ 127) &<< 23
    return y * unsafeBitCast(bits, to: SIMD8<Float>.self)
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Chunk length over which Float lanes accumulate before the partial sum moves into a Double.
let reductionChunk = 2048

/// The terms of a reduction: `lanes(i)` gives those of elements i..<i+8, `scalar(i)` one element's.
/// A protocol rather than closures so `reduceFloats` is specialised per term and its loop vectorises
/// (closure arguments measured 2-3x slower in the norms).
protocol ReductionTerms {
    func lanes(_ i: Int) -> SIMD8<Float>
    func scalar(_ i: Int) -> Float
}

/// Σ of the terms of `n` elements: Float SIMD lanes inside chunks of `reductionChunk`, Double across chunks
/// (accurate for long rows).
@inline(__always)
func reduceFloats<T: ReductionTerms>(_ n: Int, _ terms: T) -> Double {
    var total = 0.0
    var i = 0
    while i < n {
        let end = min(n, i + reductionChunk)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        while i + 16 <= end {
            a0 += terms.lanes(i)
            a1 += terms.lanes(i + 8)
            i += 16
        }
        var s = (a0 + a1).sum()
        while i < end { s += terms.scalar(i); i += 1 }
        total += Double(s)
    }
    return total
}

/// x − c.
struct Deviations: ReductionTerms {
    let x: UnsafePointer<Float>, c: Float
    @inline(__always) func lanes(_ i: Int) -> SIMD8<Float> { load8(x + i) - SIMD8(repeating: c) }
    @inline(__always) func scalar(_ i: Int) -> Float { x[i] - c }
}

/// (x − c)².
struct SquaredDeviations: ReductionTerms {
    let x: UnsafePointer<Float>, c: Float
    @inline(__always) func lanes(_ i: Int) -> SIMD8<Float> { let d = load8(x + i) - SIMD8(repeating: c); return d * d }
    @inline(__always) func scalar(_ i: Int) -> Float { let d = x[i] - c; return d * d }
}

/// a·(x − c).
struct CentredProducts: ReductionTerms {
    let a: UnsafePointer<Float>, x: UnsafePointer<Float>, c: Float
    @inline(__always) func lanes(_ i: Int) -> SIMD8<Float> { load8(a + i) * (load8(x + i) - SIMD8(repeating: c)) }
    @inline(__always) func scalar(_ i: Int) -> Float { a[i] * (x[i] - c) }
}

/// Sum of `n` floats.
func sumFloats(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    sumDeviations(p, n, from: 0)
}

/// Mean of `n ≥ 1` floats. The sum runs over x − x₀ (x₀ the first element) so the Float lanes see the
/// spread of the data rather than its offset: a block near 1000 would otherwise lose digits in the lanes.
func meanFloats(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    Double(p[0]) + sumDeviations(p, n, from: p[0]) / Double(n)
}

/// Σ (x − pivot) over `n` floats.
func sumDeviations(_ p: UnsafePointer<Float>, _ n: Int, from pivot: Float) -> Double {
    reduceFloats(n, Deviations(x: p, c: pivot))
}

/// Σ (x − mean)² over `n` floats.
func sumSquaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, mean: Float) -> Double {
    reduceFloats(n, SquaredDeviations(x: p, c: mean))
}

/// Σ a[i]·(x[i] − mean) over `n` floats (centred first, so a large mean does not cancel).
func dotCentred(_ a: UnsafePointer<Float>, _ x: UnsafePointer<Float>, mean: Float, _ n: Int) -> Double {
    reduceFloats(n, CentredProducts(a: a, x: x, c: mean))
}

/// Σ a[i]·b[i] over `n` floats.
func dotFloats(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    dotCentred(a, b, mean: 0, n)
}

/// Largest of `n ≥ 1` floats (NaNs ignored unless first). Written as per-lane selects, which vectorise;
/// the stdlib's `pointwiseMax` is not inlined and a scalar `max` reduction is not widened.
func maxFloats(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var i = 0
    var m = p[0]
    if n >= 8 {
        var v = load8(p)
        i = 8
        while i + 8 <= n {
            let w = load8(p + i)
            for j in 0..<8 { v[j] = w[j] > v[j] ? w[j] : v[j] }
            i += 8
        }
        for j in 0..<8 { m = v[j] > m ? v[j] : m }
    }
    while i < n { m = p[i] > m ? p[i] : m; i += 1 }
    return m
}

/// y = (x − c)·a + b over `n` floats (the fused normalisation and affine of the norms).
@inline(__always)
func centredAffine(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                   _ c: Float, _ a: Float, _ b: Float) {
    for i in 0..<n { y[i] = (x[i] - c) * a + b }
}

/// Splits `count` elements into pieces big enough to be worth a thread, and runs `body(range)` over them.
func parallelChunks(_ count: Int, minChunk: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    let pieces = chunkCount(count, minChunk: minChunk)
    if pieces == 1 {
        body(0..<count)
        return
    }
    parallelFor(pieces) { k in body((count * k / pieces)..<(count * (k + 1) / pieces)) }
}

/// How many pieces `parallelChunks` splits `count` items into: at most ~4 per thread, none smaller than `minChunk`.
func chunkCount(_ count: Int, minChunk: Int) -> Int {
    max(1, min(Runtime.threads * 4, count / max(1, minChunk)))
}
