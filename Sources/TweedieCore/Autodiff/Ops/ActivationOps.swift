#if canImport(Glibc)
import Glibc
#endif

// Differentiable activations. SiLU and GELU keep their input; sigmoid and softmax keep their output, from which
// their derivatives follow directly.

extension Tape {
    /// Differentiable `silu` (x·sigmoid(x)).
    public func silu(_ x: Variable) -> Variable {
        let xv = x.value, xid = x.id
        return record(TweedieCore.silu(x.value), inputs: [x]) { g, tape in
            tape.accumulate(xid, siluBackward(gradOutput: g, input: xv))
        }
    }

    /// Differentiable `gelu`, exact (erf) or `approximate` (tanh) form.
    public func gelu(_ x: Variable, approximate: Bool = false) -> Variable {
        let xv = x.value, xid = x.id
        return record(TweedieCore.gelu(x.value, approximate: approximate), inputs: [x]) { g, tape in
            tape.accumulate(xid, geluBackward(gradOutput: g, input: xv, approximate: approximate))
        }
    }

    /// Differentiable logistic sigmoid 1/(1 + e^−x) (for learned masks and gates).
    public func sigmoid(_ x: Variable) -> Variable {
        let y = mapElements(x.value) { v in 1 / (1 + expf(-v)) }
        let xid = x.id
        return record(y, inputs: [x]) { g, tape in
            tape.accumulate(xid, sigmoidBackward(gradOutput: g, output: y))
        }
    }

    /// Differentiable `softmaxLastDim`.
    public func softmax(_ x: Variable) -> Variable {
        let y = softmaxLastDim(x.value), xid = x.id
        return record(y, inputs: [x]) { g, tape in
            tape.accumulate(xid, softmaxBackward(gradOutput: g, output: y))
        }
    }
}
