// Differentiable per-channel helpers of the model layers, over the same kernels the forward pass uses, so a model
// run on the tape computes exactly the values of its inference run.

extension Tape {
    /// Differentiable `scaleShiftChannels`: x [N, C, H, W] · (1 + scale) + shift with scale/shift [N, C].
    public func scaleShiftChannels(_ x: Variable, scale: Variable, shift: Variable) -> Variable {
        let xv = x.value, sv = scale.value, xid = x.id, sid = scale.id, hid = shift.id
        let y = TweedieCore.scaleShiftChannels(x.value, scale: scale.value, shift: shift.value)
        return record(y, inputs: [x, scale, shift]) { g, tape in
            let n = xv.shape[0], c = xv.shape[1], plane = xv.count / max(n * c, 1)
            if tape.needsGradient(xid) {
                // dx = g · (1 + scale), per (sample, channel) plane.
                tape.accumulate(xid, TweedieCore.scaleShiftChannels(g, scale: sv, shift: Tensor(shape: sv.shape)))
            }
            guard tape.needsGradient(sid) || tape.needsGradient(hid) else { return }
            var dScale = Tensor(shape: sv.shape), dShift = Tensor(shape: sv.shape)
            g.withUnsafeBufferPointer { pg in
                xv.withUnsafeBufferPointer { px in
                    for i in 0..<(n * c) {
                        var a = 0.0, b = 0.0
                        for j in (i * plane)..<((i + 1) * plane) {
                            a += Double(pg[j]) * Double(px[j])
                            b += Double(pg[j])
                        }
                        dScale.data[i] = Float(a)
                        dShift.data[i] = Float(b)
                    }
                }
            }
            tape.accumulate(sid, dScale)
            tape.accumulate(hid, dShift)
        }
    }

    /// Differentiable `addDivided`: (a + b) / divisor, residual sums with diffusers' output scale factors.
    public func addDivided(_ a: Variable, _ b: Variable, divisor: Float) -> Variable {
        let aid = a.id, bid = b.id
        return record(TweedieCore.addDivided(a.value, b.value, divisor: divisor), inputs: [a, b]) { g, tape in
            let scaled = divisor == 1 ? g : TweedieCore.scale(g, 1 / divisor)
            tape.accumulate(aid, scaled)
            tape.accumulate(bid, scaled)
        }
    }
}
