// Differentiable elementwise arithmetic and the broadcast helpers of the models (per-channel bias, adaLN
// modulation and gating).

extension Tape {
    /// Differentiable `add` of same-shape values.
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        let aid = a.id, bid = b.id
        // Both operands receive dy itself; the tensor is shared until one side accumulates into it.
        return record(TweedieCore.add(a.value, b.value), inputs: [a, b]) { g, tape in
            tape.accumulate(aid, g)
            tape.accumulate(bid, g)
        }
    }

    /// Differentiable `sub` of same-shape values.
    public func sub(_ a: Variable, _ b: Variable) -> Variable {
        let aid = a.id, bid = b.id
        return record(TweedieCore.sub(a.value, b.value), inputs: [a, b]) { g, tape in
            tape.accumulate(aid, g)
            if tape.needsGradient(bid) { tape.accumulate(bid, TweedieCore.scale(g, -1)) }
        }
    }

    /// Differentiable elementwise `mul` of same-shape values.
    public func mul(_ a: Variable, _ b: Variable) -> Variable {
        let aid = a.id, bid = b.id
        let av = b.requiresGrad ? a.value : nil, bv = a.requiresGrad ? b.value : nil
        return record(TweedieCore.mul(a.value, b.value), inputs: [a, b]) { g, tape in
            if let bv { tape.accumulate(aid, TweedieCore.mul(g, bv)) }
            if let av { tape.accumulate(bid, TweedieCore.mul(g, av)) }
        }
    }

    /// Differentiable multiplication by a constant.
    public func scale(_ x: Variable, _ s: Float) -> Variable {
        let xid = x.id
        return record(TweedieCore.scale(x.value, s), inputs: [x]) { g, tape in
            tape.accumulate(xid, TweedieCore.scale(g, s))
        }
    }

    /// Differentiable `addChannelBias`: x [N, C, H, W] plus b [N, C] (per sample) or [C].
    public func addChannelBias(_ x: Variable, _ b: Variable) -> Variable {
        let xid = x.id, bid = b.id, bShape = b.shape
        return record(TweedieCore.addChannelBias(x.value, b.value), inputs: [x, b]) { g, tape in
            if tape.needsGradient(bid) { tape.accumulate(bid, channelBiasBackward(gradOutput: g, biasShape: bShape)) }
            tape.accumulate(xid, g)
        }
    }

    /// Differentiable `addRows`: x [N, L, D] plus rows [L, D] shared by every sample (positional embeddings).
    public func addRows(_ x: Variable, _ rows: Variable) -> Variable {
        let xid = x.id, rid = rows.id
        return record(TweedieCore.addRows(x.value, rows.value), inputs: [x, rows]) { g, tape in
            if tape.needsGradient(rid) {
                // The rows' gradient is dy summed over the batch.
                tape.accumulate(rid) { dst in
                    g.withUnsafeBufferPointer { src in
                        let per = dst.count
                        for b in 0..<(src.count / max(per, 1)) {
                            addInPlace(dst.baseAddress!, src.baseAddress! + b * per, per)
                        }
                    }
                }
            }
            tape.accumulate(xid, g)
        }
    }

    /// Differentiable `modulate`: x [N, L, C] · (1 + scale) + shift with shift/scale [N, C].
    public func modulate(_ x: Variable, shift: Variable, scale: Variable) -> Variable {
        let xv = x.value, sv = scale.value, xid = x.id, hid = shift.id, sid = scale.id
        let y = TweedieCore.modulate(x.value, shift: shift.value, scale: scale.value)
        return record(y, inputs: [x, shift, scale]) { g, tape in
            let r = modulateBackward(gradOutput: g, input: xv, scale: sv)
            tape.accumulate(xid, r.input)
            tape.accumulate(hid, r.shift)
            tape.accumulate(sid, r.scale)
        }
    }

    /// Differentiable `gate`: x [N, L, C] · g [N, C].
    public func gate(_ x: Variable, _ g: Variable) -> Variable {
        let xv = x.value, gv = g.value, xid = x.id, gid = g.id
        return record(TweedieCore.gate(x.value, g.value), inputs: [x, g]) { dy, tape in
            let r = gateBackward(gradOutput: dy, input: xv, gate: gv)
            tape.accumulate(xid, r.input)
            tape.accumulate(gid, r.gate)
        }
    }
}
