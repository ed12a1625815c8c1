/// SiLU (swish): x · sigmoid(x), elementwise.
public func silu(_ x: Tensor) -> Tensor {
    mapElements(x, { v in v / (1 + expApprox(-v)) }, { v in v / (1 + expApprox(-v)) })
}

/// GELU, elementwise. Exact form x · Φ(x) = ½x·erfc(−x/√2) by default; `approximate` selects the tanh form
/// ½x(1 + tanh(√(2/π)(x + 0.044715x³))), evaluated as x · sigmoid(2u) which is the same function.
public func gelu(_ x: Tensor, approximate: Bool = false) -> Tensor {
    if approximate {
        return mapElements(x, { v in
            let u = 0.797_884_56 * (v + 0.044_715 * v * v * v)
            return v / (1 + expApprox(-2 * u))
        }, { v in
            let u = 0.797_884_56 * (v + 0.044_715 * v * v * v)
            return v / (1 + expApprox(-2 * u))
        })
    }
    return mapElements(x) { v in 0.5 * v * erfcApprox(-0.707_106_78 * v) }
}

/// erfc(z) with relative error about 1.2e-7 over the whole line (Numerical Recipes' Chebyshev fit
/// `erfcc`), branch-free so it vectorises; unlike 1 − erf it stays accurate in the far tail, which keeps
/// GELU accurate for very negative inputs.
@inline(__always)
func erfcApprox(_ z: Float) -> Float {
    let a = abs(z)
    let t = 1 / (1 + 0.5 * a)
    var p: Float = 0.170_872_77
    p = p * t - 0.822_152_23
    p = p * t + 1.488_515_87
    p = p * t - 1.135_203_98
    p = p * t + 0.278_868_07
    p = p * t - 0.186_288_06
    p = p * t + 0.096_784_18
    p = p * t + 0.374_091_96
    p = p * t + 1.000_023_68
    p = p * t - 1.265_512_23
    let r = t * expApprox(p - a * a)
    return z >= 0 ? r : 2 - r
}

/// Applies `f` to every element, in parallel chunks; `f` should be branch-free arithmetic so it vectorises.
@inline(__always)
func mapElements(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    Tensor(shape: x.shape) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            let src = px.baseAddress!
            parallelChunks(x.count) { range in
                for i in range { po[i] = f(src[i]) }
            }
        }
    }
}

/// `mapElements` with an eight-lane body for the bulk and the scalar one for the tail. A closure handed to the
/// parallel loop is called, not inlined, so a scalar body costs a call per element and never vectorises (SiLU was
/// 26 % of a fashion32 batch-16 call in perf); `f8` must compute lane for lane what `f` does.
@inline(__always)
func mapElements(_ x: Tensor, _ f8: (SIMD8<Float>) -> SIMD8<Float>, _ f: (Float) -> Float) -> Tensor {
    Tensor(shape: x.shape) { out in
        guard let po = out.baseAddress else { return }
        x.withUnsafeBufferPointer { px in
            let src = px.baseAddress!
            parallelChunks(x.count) { range in
                var i = range.lowerBound
                while i + 8 <= range.upperBound {
                    store8(f8(load8(src + i)), po + i)
                    i += 8
                }
                while i < range.upperBound {
                    po[i] = f(src[i])
                    i += 1
                }
            }
        }
    }
}
