import TweedieCore

/// Stochastic gradient descent with PyTorch's semantics (`torch.optim.SGD`): g ← g + wd·p (coupled weight decay);
/// with momentum μ the buffer starts as g and then b ← μ·b + (1 − dampening)·g; the step uses b, or g + μ·b when
/// `nesterov`; p ← p − lr·step.
public final class SGD: Optimizer {
    public var learningRate: Float
    /// Momentum factor μ (0: plain SGD, no buffer).
    public let momentum: Float
    /// Dampening of the gradient entering the buffer.
    public let dampening: Float
    /// L2 penalty added to the gradient.
    public let weightDecay: Float
    /// Nesterov momentum.
    public let nesterov: Bool
    public private(set) var stepCount = 0
    private var buffers: [Tensor]

    /// State for parameters shaped like `parameters`.
    public init(parameters: [Tensor], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        buffers = parameters.map { Tensor(shape: $0.shape) }
    }

    public func update(_ parameters: inout [Tensor], gradients: [Tensor]) {
        OptimizerChecks.sameShapes(parameters, gradients, "SGD")
        let first = stepCount == 0
        stepCount += 1
        let lr = learningRate, mu = momentum, damp = dampening, wd = weightDecay, nesterov = nesterov
        for i in parameters.indices {
            parameters[i].withUnsafeMutableBufferPointer { p in
                buffers[i].withUnsafeMutableBufferPointer { b in
                    gradients[i].withUnsafeBufferPointer { g in
                        for j in 0..<p.count {
                            var d = g[j]
                            if wd != 0 { d += wd * p[j] }
                            if mu != 0 {
                                b[j] = first ? d : mu * b[j] + (1 - damp) * d
                                d = nesterov ? d + mu * b[j] : b[j]
                            }
                            p[j] -= lr * d
                        }
                    }
                }
            }
        }
    }

    public var state: [(kind: String, index: Int, value: Tensor)] {
        momentum == 0 ? [] : buffers.enumerated().map { ("momentum_buffer", $0, $1) }
    }

    public func restore(state: [String: [Int: Tensor]], stepCount: Int) throws {
        if momentum != 0 {
            buffers = try OptimizerChecks.buffers(state, kind: "momentum_buffer", like: buffers, "SGD")
        }
        self.stepCount = stepCount
    }
}
