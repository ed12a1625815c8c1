import TweedieCore

/// AdamW with PyTorch's semantics (`torch.optim.AdamW`, single-tensor path): decoupled weight decay
/// p ← p·(1 − lr·wd), moments m ← m + (1 − β1)(g − m), v ← β2·v + (1 − β2)·g², then
/// p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε) — ε outside the square root, after the bias correction.
public final class AdamW: Optimizer {
    public var learningRate: Float
    /// Exponential decay rates of the first and second moments.
    public let beta1: Float, beta2: Float
    /// Added to the denominator.
    public let eps: Float
    /// Decoupled weight decay coefficient.
    public let weightDecay: Float
    public private(set) var stepCount = 0
    private var expAvg: [Tensor]
    private var expAvgSq: [Tensor]

    /// State for parameters shaped like `parameters`; defaults are PyTorch's except the learning rate.
    public init(parameters: [Tensor], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        expAvg = parameters.map { Tensor(shape: $0.shape) }
        expAvgSq = parameters.map { Tensor(shape: $0.shape) }
    }

    public func update(_ parameters: inout [Tensor], gradients: [Tensor]) {
        OptimizerChecks.sameShapes(parameters, gradients, "AdamW")
        stepCount += 1
        let t = Double(stepCount)
        let stepSize = learningRate / Float(1 - pow(Double(beta1), t))
        let bc2Sqrt = Float((1 - pow(Double(beta2), t)).squareRoot())
        let decay = 1 - learningRate * weightDecay
        let b1 = beta1, b2 = beta2, eps = eps
        for i in parameters.indices {
            parameters[i].withUnsafeMutableBufferPointer { p in
                expAvg[i].withUnsafeMutableBufferPointer { m in
                    expAvgSq[i].withUnsafeMutableBufferPointer { v in
                        gradients[i].withUnsafeBufferPointer { g in
                            for j in 0..<p.count {
                                let gj = g[j]
                                p[j] *= decay
                                m[j] += (gj - m[j]) * (1 - b1)
                                v[j] = v[j] * b2 + (1 - b2) * gj * gj
                                p[j] -= stepSize * m[j] / (v[j].squareRoot() / bc2Sqrt + eps)
                            }
                        }
                    }
                }
            }
        }
    }

    public var state: [(kind: String, index: Int, value: Tensor)] {
        expAvg.enumerated().map { ("exp_avg", $0, $1) } + expAvgSq.enumerated().map { ("exp_avg_sq", $0, $1) }
    }

    public func restore(state: [String: [Int: Tensor]], stepCount: Int) throws {
        expAvg = try OptimizerChecks.buffers(state, kind: "exp_avg", like: expAvg, "AdamW")
        expAvgSq = try OptimizerChecks.buffers(state, kind: "exp_avg_sq", like: expAvgSq, "AdamW")
        self.stepCount = stepCount
    }
}

#if canImport(Glibc)
import Glibc
#endif
