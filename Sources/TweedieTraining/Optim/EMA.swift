import TweedieCore

/// Exponential moving average of weights with diffusers' `EMAModel` schedule: at update k (1-based) the decay is
/// min(maxDecay, (1 + s)/(10 + s)) with s = k − 1 (0 for the first update, which copies the weights), or with
/// `warmup` the power form 1 − (1 + s/invGamma)^−power; then ema ← ema − (1 − decay)(ema − p).
public final class EMA {
    /// Upper bound of the decay.
    public let maxDecay: Float
    /// Use the power warm-up (diffusers' use_ema_warmup) instead of (1 + s)/(10 + s).
    public let warmup: Bool
    /// Power-warm-up parameters.
    public let invGamma: Float, power: Float
    /// The averaged weights.
    public private(set) var weights: [Tensor]
    /// Updates so far.
    public private(set) var updates: Int

    /// Starts from `weights` (before any update the average equals them).
    public init(weights: [Tensor], maxDecay: Float = 0.9999, warmup: Bool = false, invGamma: Float = 1,
                power: Float = 2.0 / 3.0, updates: Int = 0) {
        self.weights = weights
        self.maxDecay = maxDecay
        self.warmup = warmup
        self.invGamma = invGamma
        self.power = power
        self.updates = updates
    }

    /// The decay the next update uses.
    public var nextDecay: Float {
        let s = Double(max(0, updates))
        if s <= 0 { return 0 }
        let d = warmup ? 1 - pow(1 + s / Double(invGamma), -Double(power)) : (1 + s) / (10 + s)
        return min(maxDecay, Float(d))
    }

    /// Moves the average toward `parameters`.
    public func update(_ parameters: [Tensor]) {
        precondition(parameters.count == weights.count, "EMA: \(parameters.count) tensors for \(weights.count)")
        let oneMinus = 1 - nextDecay
        updates += 1
        for i in weights.indices {
            weights[i].withUnsafeMutableBufferPointer { e in
                parameters[i].withUnsafeBufferPointer { p in
                    precondition(e.count == p.count, "EMA: tensor \(i) changed size")
                    for j in 0..<e.count { e[j] -= oneMinus * (e[j] - p[j]) }
                }
            }
        }
    }

    /// Replaces the averaged weights (resuming from a checkpoint).
    public func restore(weights: [Tensor], updates: Int) {
        precondition(weights.count == self.weights.count, "EMA.restore: tensor count differs")
        self.weights = weights
        self.updates = updates
    }
}

#if canImport(Glibc)
import Glibc
#endif
