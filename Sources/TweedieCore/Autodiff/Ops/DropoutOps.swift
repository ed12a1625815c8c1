extension Tape {
    /// Inverted dropout with a counter-based mask (`CounterRandom.dropoutMask`): the same `seed` always drops the
    /// same elements, so checkpointed regions recompute exactly. Pass a fresh seed per step and per layer.
    public func dropout(_ x: Variable, probability: Float, seed: UInt64) -> Variable {
        guard probability > 0 else { return x }
        let mask = CounterRandom.dropoutMask(shape: x.shape, probability: probability, seed: seed)
        let xid = x.id
        return record(multiplied(x.value, mask), inputs: [x]) { g, tape in tape.accumulate(xid, multiplied(g, mask)) }
    }
}

/// a ⊙ b into a new tensor, threaded.
func multiplied(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.count == b.count, "multiplied: shapes \(a.shape) and \(b.shape) differ")
    return Tensor(shape: a.shape) { out in
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                parallelChunks(out.count) { r in for i in r { out[i] = pa[i] * pb[i] } }
            }
        }
    }
}
