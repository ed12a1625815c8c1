// Differentiable gating of a weight's input units: structural masks over attention heads, feed-forward neurons
// and convolution channels act on the columns of the layer that reads those units.

extension Tape {
    /// W' = W with input column c (dimension 1) scaled by gates[c / groupSize]: W [out, in, ...], gates
    /// [in / groupSize]. A gate of 1 leaves its columns bit for bit; a gate of 0 removes the units' contribution.
    public func gateInputs(_ weight: Variable, gates: Variable, groupSize: Int) -> Variable {
        let w = weight.value, g = gates.value
        let out = w.shape[0], inputs = w.shape[1], inner = w.count / max(out * inputs, 1)
        precondition(groupSize > 0 && inputs == g.count * groupSize,
                     "gateInputs: \(g.count) gates of \(groupSize) for \(inputs) input units of \(w.shape)")
        func scaled(_ x: Tensor) -> Tensor {
            var y = x
            y.withUnsafeMutableBufferPointer { py in
                g.withUnsafeBufferPointer { pg in
                    for o in 0..<out {
                        for c in 0..<inputs {
                            let s = pg[c / groupSize], base = (o * inputs + c) * inner
                            for k in 0..<inner { py[base + k] *= s }
                        }
                    }
                }
            }
            return y
        }
        let wid = weight.id, gid = gates.id
        return record(scaled(w), inputs: [weight, gates]) { dy, tape in
            if tape.needsGradient(wid) { tape.accumulate(wid, scaled(dy)) }
            guard tape.needsGradient(gid) else { return }
            var dg = [Double](repeating: 0, count: g.count)
            dy.withUnsafeBufferPointer { pd in
                w.withUnsafeBufferPointer { pw in
                    for o in 0..<out {
                        for c in 0..<inputs {
                            let base = (o * inputs + c) * inner
                            var s = 0.0
                            for k in 0..<inner { s += Double(pd[base + k]) * Double(pw[base + k]) }
                            dg[c / groupSize] += s
                        }
                    }
                }
            }
            tape.accumulate(gid, Tensor(shape: g.shape, data: dg.map(Float.init)))
        }
    }
}
