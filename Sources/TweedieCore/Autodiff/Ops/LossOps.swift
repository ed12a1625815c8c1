// Differentiable classification losses: log-softmax and softmax cross-entropy over integer labels.

extension Tape {
    /// Differentiable `logSoftmaxLastDim` (numerically stable log-probabilities over the last dimension).
    public func logSoftmax(_ x: Variable) -> Variable {
        let y = logSoftmaxLastDim(x.value), xid = x.id
        return record(y, inputs: [x]) { g, tape in
            tape.accumulate(xid, logSoftmaxBackward(gradOutput: g, output: y))
        }
    }

    /// Mean softmax cross-entropy of `logits` [N, K] against `labels` (one per row, in 0..<K), as a 0-d value;
    /// `labelSmoothing` ε mixes the one-hot target with the uniform one, as PyTorch's `cross_entropy`. The
    /// pullback is the fused (softmax − target)/N, kept from the forward log-probabilities.
    public func crossEntropy(_ logits: Variable, labels: [Int], labelSmoothing: Float = 0) -> Variable {
        let (loss, logp) = TweedieCore.crossEntropy(logits: logits.value, labels: labels,
                                                    labelSmoothing: labelSmoothing)
        let xid = logits.id
        return record(Tensor(scalar: loss), inputs: [logits]) { g, tape in
            tape.accumulate(xid, crossEntropyBackward(logProbabilities: logp, labels: labels,
                                                      labelSmoothing: labelSmoothing, gradLoss: g.data[0]))
        }
    }
}
