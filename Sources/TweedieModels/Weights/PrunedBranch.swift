import TweedieCore

/// A branch whose every unit was pruned (width 0 in `tweedie_layer_widths`): its consumer layer has no input
/// columns left, so it outputs its bias alone, whatever the input. That constant is what the gated model computed
/// with all gates at 0 (0·W + b), so the export keeps it; an identity skip (EcoDiff's official export) would add
/// the branch's input instead.
extension ForwardScope {
    /// The bias of the linear layer at `prefix` broadcast to tokens [n, l, bias count] (zeros without a bias).
    public func prunedLinear(_ prefix: String, tokens n: Int, _ l: Int, width d: Int) -> Variable {
        let zeros = tape.constant(Tensor(shape: [n * l, 1, d]))
        guard let b = optionalParam(prefix + ".bias") else { return tape.reshape(zeros, [n, l, d]) }
        return tape.reshape(tape.addRows(zeros, tape.reshape(b, [1, d])), [n, l, d])
    }

    /// The bias of the convolution or linear layer at `prefix` broadcast to an NCHW map `shape` (zeros without a
    /// bias).
    public func prunedMap(_ prefix: String, shape: [Int]) -> Variable {
        let zeros = tape.constant(Tensor(shape: shape))
        guard let b = optionalParam(prefix + ".bias") else { return zeros }
        return tape.addChannelBias(zeros, b)
    }
}
