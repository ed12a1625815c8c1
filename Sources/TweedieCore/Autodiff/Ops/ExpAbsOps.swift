#if canImport(Glibc)
import Glibc
#endif

// exp and |x| on the tape (named so they cannot shadow the Float functions inside other Tape extensions): a VAE's posterior sample (mean + exp(logvar / 2)·ε), its KL term, and L1 losses.

extension Tape {
    /// e^x elementwise; the pullback reuses the output (d e^x = e^x dx).
    public func exponential(_ x: Variable) -> Variable {
        let y = mapElements(x.value) { expf($0) }
        let xid = x.id
        return record(y, inputs: [x]) { g, tape in
            tape.accumulate(xid, Tensor(shape: y.shape) { out in
                y.withUnsafeBufferPointer { py in
                    g.withUnsafeBufferPointer { pg in
                        parallelChunks(out.count) { r in for i in r { out[i] = pg[i] * py[i] } }
                    }
                }
            })
        }
    }

    /// |x| elementwise; the gradient is sign(x), and 0 at x = 0 (torch.abs's subgradient).
    public func absoluteValue(_ x: Variable) -> Variable {
        let v = x.value, xid = x.id
        return record(mapElements(v) { Swift.abs($0) }, inputs: [x]) { g, tape in
            tape.accumulate(xid, Tensor(shape: v.shape) { out in
                v.withUnsafeBufferPointer { p in
                    g.withUnsafeBufferPointer { pg in
                        parallelChunks(out.count) { r in
                            for i in r { out[i] = p[i] > 0 ? pg[i] : (p[i] < 0 ? -pg[i] : 0) }
                        }
                    }
                }
            })
        }
    }
}
