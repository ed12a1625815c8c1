import TweedieCore

/// A guidance rule in the shape of diffusers' guider contract: it says which predictions a step needs
/// (conditional only, or conditional + unconditional), combines them, and clears its per-run state on `reset()`.
/// All predictions are denoised (x0) estimates, batch first; statistics are per sample (all dims but the batch).
public protocol Guider: AnyObject {
    /// Whether step `step` of `total` needs the unconditional prediction; false means only the conditional one is
    /// computed and used as is.
    func needsUnconditional(step: Int, total: Int) -> Bool
    /// The guided x0 prediction from per-sample conditional and unconditional predictions of the same shape.
    func combine(conditional: Tensor, unconditional: Tensor, step: Int, total: Int) -> Tensor
    /// Clears per-run state (momentum buffers). `GuidedDenoiser` calls it at the start of every run.
    func reset()
}

/// No guidance: the conditional prediction alone.
public final class NoGuidance: Guider {
    public init() {}
    public func needsUnconditional(step: Int, total: Int) -> Bool { false }
    public func combine(conditional: Tensor, unconditional: Tensor, step: Int, total: Int) -> Tensor { conditional }
    public func reset() {}
}

/// Per-sample reductions shared by the guiders.
enum SampleStats {
    /// Number of samples and elements per sample of a batch tensor.
    static func layout(_ t: Tensor) -> (n: Int, per: Int) {
        let n = max(1, t.shape.first ?? 1)
        return (n, t.count / n)
    }

    /// torch's unbiased std (Bessel-corrected) of each sample, in Float64.
    static func std(_ t: Tensor) -> [Double] {
        let (n, per) = layout(t)
        return t.withUnsafeBufferPointer { p in
            (0..<n).map { b in
                var mean = 0.0
                for i in 0..<per { mean += Double(p[b * per + i]) }
                mean /= Double(per)
                var ss = 0.0
                for i in 0..<per { let d = Double(p[b * per + i]) - mean; ss += d * d }
                return (ss / Double(max(1, per - 1))).squareRoot()
            }
        }
    }

    /// L2 norm of each sample, in Float64.
    static func norm(_ t: Tensor) -> [Double] {
        let (n, per) = layout(t)
        return t.withUnsafeBufferPointer { p in
            (0..<n).map { b in
                var ss = 0.0
                for i in 0..<per { let v = Double(p[b * per + i]); ss += v * v }
                return ss.squareRoot()
            }
        }
    }

    /// Multiplies each sample b of `t` by `factors[b]`.
    static func scalePerSample(_ t: Tensor, _ factors: [Double]) -> Tensor {
        let (_, per) = layout(t)
        return Tensor(shape: t.shape) { out in
            t.withUnsafeBufferPointer { p in
                for i in 0..<out.count { out[i] = p[i] * Float(factors[i / per]) }
            }
        }
    }
}
