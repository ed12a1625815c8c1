// Differentiable normalisations. Statistics are recomputed in the backward pass from the saved input rather
// than stored, so the tape keeps one tensor per norm.

extension Tape {
    /// Differentiable `groupNorm` over x [N, C, ...] with optional affine weight/bias [C].
    public func groupNorm(_ x: Variable, groups: Int, weight: Variable? = nil, bias: Variable? = nil,
                          eps: Float = 1e-5) -> Variable {
        let y = TweedieCore.groupNorm(x.value, groups: groups, weight: weight?.value, bias: bias?.value, eps: eps)
        let xv = x.value, wv = weight?.value
        let xid = x.id, wid = weight?.id, bid = bias?.id
        return record(y, inputs: [x] + [weight, bias].compactMap { $0 }) { g, tape in
            let affine = (wid.map(tape.needsGradient) ?? false) || (bid.map(tape.needsGradient) ?? false)
            let r = groupNormBackward(gradOutput: g, input: xv, groups: groups, weight: wv, eps: eps,
                                      needInput: tape.needsGradient(xid), needAffine: affine)
            if let gx = r.input { tape.accumulate(xid, gx) }
            if let wid, let gw = r.weight { tape.accumulate(wid, gw) }
            if let bid, let gb = r.bias { tape.accumulate(bid, gb) }
        }
    }

    /// Differentiable `layerNorm` over the last dimension, with optional affine weight/bias [D] (DiT uses none).
    public func layerNorm(_ x: Variable, weight: Variable? = nil, bias: Variable? = nil,
                          eps: Float = 1e-5) -> Variable {
        let y = TweedieCore.layerNorm(x.value, weight: weight?.value, bias: bias?.value, eps: eps)
        let xv = x.value, wv = weight?.value
        let xid = x.id, wid = weight?.id, bid = bias?.id
        return record(y, inputs: [x] + [weight, bias].compactMap { $0 }) { g, tape in
            let affine = (wid.map(tape.needsGradient) ?? false) || (bid.map(tape.needsGradient) ?? false)
            let r = layerNormBackward(gradOutput: g, input: xv, weight: wv, eps: eps,
                                      needInput: tape.needsGradient(xid), needAffine: affine)
            if let gx = r.input { tape.accumulate(xid, gx) }
            if let wid, let gw = r.weight { tape.accumulate(wid, gw) }
            if let bid, let gb = r.bias { tape.accumulate(bid, gb) }
        }
    }
}
