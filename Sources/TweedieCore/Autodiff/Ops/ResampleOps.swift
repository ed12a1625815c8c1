// Differentiable resampling (the U-Net / VAE up- and downsamplers) and embedding lookup.

extension Tape {
    /// Differentiable `upsampleNearest2x` (NCHW).
    public func upsampleNearest2x(_ x: Variable) -> Variable {
        let xid = x.id
        return record(TweedieCore.upsampleNearest2x(x.value), inputs: [x]) { g, tape in
            tape.accumulate(xid, upsampleNearest2xBackward(gradOutput: g))
        }
    }

    /// Differentiable `avgPool2d` (stride = kernel).
    public func avgPool2d(_ x: Variable, kernel: Int = 2) -> Variable {
        let xid = x.id, shape = x.shape
        return record(TweedieCore.avgPool2d(x.value, kernel: kernel), inputs: [x]) { g, tape in
            tape.accumulate(xid, avgPool2dBackward(gradOutput: g, inputShape: shape, kernel: kernel))
        }
    }

    /// Differentiable `embedding` lookup of rows of `table` [V, D]; the pullback scatter-adds straight into the
    /// table's gradient buffer.
    public func embedding(_ indices: [Int], table: Variable) -> Variable {
        let tid = table.id
        return record(TweedieCore.embedding(indices, table: table.value), inputs: [table]) { g, tape in
            tape.accumulate(tid) { scatterAddRows(g, indices: indices, into: $0) }
        }
    }
}
