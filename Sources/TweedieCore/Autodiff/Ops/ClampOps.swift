// Differentiable clamping: diffusers' clip_sample on a sampler's x0 estimate, and rewards that read pixels in a
// fixed range.

extension Tape {
    /// min(max(x, lo), hi) elementwise. The gradient passes where lo < x < hi and is 0 where the value was
    /// clamped (at a bound exactly it is 0 too, as torch.clamp's is 1 there only for values strictly inside).
    public func clamp(_ x: Variable, _ lo: Float, _ hi: Float) -> Variable {
        precondition(lo <= hi, "Tape.clamp: lower bound \(lo) above upper bound \(hi)")
        let v = x.value, xid = x.id
        let y = Tensor(shape: v.shape) { out in
            v.withUnsafeBufferPointer { p in
                parallelChunks(out.count) { r in for i in r { out[i] = min(max(p[i], lo), hi) } }
            }
        }
        return record(y, inputs: [x]) { g, tape in
            tape.accumulate(xid, Tensor(shape: v.shape) { out in
                v.withUnsafeBufferPointer { p in
                    g.withUnsafeBufferPointer { pg in
                        parallelChunks(out.count) { r in for i in r { out[i] = p[i] > lo && p[i] < hi ? pg[i] : 0 } }
                    }
                }
            })
        }
    }
}
