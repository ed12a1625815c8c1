// Differentiable layout ops: reshape, concatenation and splitting, token/image layout changes, permutation and
// asymmetric padding. Their pullbacks are the adjoint layout ops (split ↔ concat, transpose ↔ transpose, …).

extension Tape {
    /// The same elements under another shape (one dimension may be -1).
    public func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        let xid = x.id
        // `accumulate` restores the operand's shape, so the gradient passes through unchanged.
        return record(x.value.reshaped(shape), inputs: [x]) { g, tape in tape.accumulate(xid, g) }
    }

    /// Differentiable `concat` along `axis` (negative counts from the end).
    public func concat(_ xs: [Variable], axis: Int) -> Variable {
        let y = TweedieCore.concat(xs.map(\.value), axis: axis)
        let ax = axis < 0 ? axis + y.rank : axis
        let sizes = xs.map { $0.shape[ax] }, ids = xs.map(\.id)
        return record(y, inputs: xs) { g, tape in
            for (id, piece) in zip(ids, TweedieCore.split(g, sizes: sizes, axis: ax)) where tape.needsGradient(id) {
                tape.accumulate(id, piece)
            }
        }
    }

    /// Differentiable `split` into consecutive pieces of `sizes` along `axis`; pieces may be used independently.
    public func split(_ x: Variable, sizes: [Int], axis: Int) -> [Variable] {
        splitRecorded(x, TweedieCore.split(x.value, sizes: sizes, axis: axis), axis: axis)
    }

    /// Differentiable `chunk` (torch semantics: ceil-sized pieces, the last one shorter).
    public func chunk(_ x: Variable, _ parts: Int, axis: Int) -> [Variable] {
        splitRecorded(x, TweedieCore.chunk(x.value, parts, axis: axis), axis: axis)
    }

    /// Records pieces of `x` cut along `axis`: the pullback concatenates their gradients (zeros for unused pieces).
    private func splitRecorded(_ x: Variable, _ pieces: [Tensor], axis: Int) -> [Variable] {
        let ax = axis < 0 ? axis + x.value.rank : axis
        let shapes = pieces.map(\.shape), xid = x.id
        return recordMany(pieces, inputs: [x]) { gs, tape in
            let parts = zip(gs, shapes).map { g, shape in g ?? Tensor(shape: shape) }
            tape.accumulate(xid, TweedieCore.concat(parts, axis: ax))
        }
    }

    /// Differentiable `nchwToNLC`: [N, C, H, W] → [N, H·W, C].
    public func nchwToNLC(_ x: Variable) -> Variable {
        let h = x.shape[2], w = x.shape[3], xid = x.id
        return record(TweedieCore.nchwToNLC(x.value), inputs: [x]) { g, tape in
            tape.accumulate(xid, TweedieCore.nlcToNCHW(g, height: h, width: w))
        }
    }

    /// Differentiable `nlcToNCHW`: [N, H·W, C] → [N, C, H, W].
    public func nlcToNCHW(_ x: Variable, height: Int, width: Int) -> Variable {
        let xid = x.id
        return record(TweedieCore.nlcToNCHW(x.value, height: height, width: width), inputs: [x]) { g, tape in
            tape.accumulate(xid, TweedieCore.nchwToNLC(g))
        }
    }

    /// Differentiable axis permutation (`Tensor.permuted`), e.g. DiT's unpatchify "nhwpqc → nchpwq".
    public func permute(_ x: Variable, _ axes: [Int]) -> Variable {
        var inverse = axes
        for (i, a) in axes.enumerated() { inverse[a] = i }
        let xid = x.id
        return record(x.value.permuted(axes), inputs: [x]) { g, tape in tape.accumulate(xid, g.permuted(inverse)) }
    }

    /// Differentiable per-side zero padding of NCHW (`Tensor.padded2d`); the pullback crops.
    public func pad2d(_ x: Variable, left: Int, right: Int, top: Int, bottom: Int) -> Variable {
        let xid = x.id
        return record(x.value.padded2d(left: left, right: right, top: top, bottom: bottom), inputs: [x]) { g, tape in
            tape.accumulate(xid, g.padded2d(left: -left, right: -right, top: -top, bottom: -bottom))
        }
    }
}
