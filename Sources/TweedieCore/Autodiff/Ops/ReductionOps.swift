// Differentiable reductions to a scalar (shape []) and the mean-squared-error loss.

extension Tape {
    /// Σ of all elements, as a 0-d value.
    public func sum(_ x: Variable) -> Variable {
        let total = x.value.withUnsafeBufferPointer { sumFloats($0.baseAddress!, x.value.count) }
        let shape = x.shape, xid = x.id
        return record(Tensor(scalar: Float(total)), inputs: [x]) { g, tape in
            tape.accumulate(xid, Tensor(shape: shape, repeating: g.data[0]))
        }
    }

    /// Mean of all elements, as a 0-d value.
    public func mean(_ x: Variable) -> Variable {
        let n = max(1, x.value.count)
        let total = x.value.withUnsafeBufferPointer { sumFloats($0.baseAddress!, x.value.count) }
        let shape = x.shape, xid = x.id
        return record(Tensor(scalar: Float(total / Double(n))), inputs: [x]) { g, tape in
            tape.accumulate(xid, Tensor(shape: shape, repeating: g.data[0] / Float(n)))
        }
    }

    /// Mean squared error mean((a − b)²) over same-shape values, as a 0-d value. Gradients: ±2(a − b)/n.
    public func mseLoss(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.shape == b.shape, "mseLoss: shapes \(a.shape) and \(b.shape) differ")
        let n = max(1, a.value.count)
        let diff = Tensor(shape: a.shape) { out in
            a.value.withUnsafeBufferPointer { pa in
                b.value.withUnsafeBufferPointer { pb in
                    parallelChunks(out.count) { r in for i in r { out[i] = pa[i] - pb[i] } }
                }
            }
        }
        let loss = diff.withUnsafeBufferPointer { dotFloats($0.baseAddress!, $0.baseAddress!, n) } / Double(n)
        let aid = a.id, bid = b.id
        return record(Tensor(scalar: Float(loss)), inputs: [a, b]) { g, tape in
            let factor = 2 * g.data[0] / Float(n)
            if tape.needsGradient(aid) { tape.accumulate(aid, scaled(diff, factor)) }
            if tape.needsGradient(bid) { tape.accumulate(bid, scaled(diff, -factor)) }
        }
    }
}

/// x·s into a new tensor, threaded (used by pullbacks that must not depend on the elementwise kernels' order).
func scaled(_ x: Tensor, _ s: Float) -> Tensor {
    Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { px in
            parallelChunks(out.count) { r in for i in r { out[i] = px[i] * s } }
        }
    }
}
