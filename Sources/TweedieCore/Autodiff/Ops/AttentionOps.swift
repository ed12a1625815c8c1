extension Tape {
    /// Differentiable multi-head `attention` (q [N, Lq, C], k/v [N, Lk, C]). The attention weights are not kept:
    /// the backward pass recomputes them block by block from q and k.
    public func attention(q: Variable, k: Variable, v: Variable, heads: Int, scale: Float? = nil) -> Variable {
        let y = TweedieCore.attention(q: q.value, k: k.value, v: v.value, heads: heads, scale: scale)
        let qv = q.value, kv = k.value, vv = v.value
        let qid = q.id, kid = k.id, vid = v.id
        return record(y, inputs: [q, k, v]) { g, tape in
            let r = attentionBackward(gradOutput: g, q: qv, k: kv, v: vv, heads: heads, scale: scale,
                                      needQ: tape.needsGradient(qid), needK: tape.needsGradient(kid),
                                      needV: tape.needsGradient(vid))
            if let gq = r.q { tape.accumulate(qid, gq) }
            if let gk = r.k { tape.accumulate(kid, gk) }
            if let gv = r.v { tape.accumulate(vid, gv) }
        }
    }
}
