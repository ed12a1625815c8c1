import TweedieCore

/// The knobs of the optimisation loop every tuning method shares.
public struct TuningLoopSettings: Equatable, Sendable {
    /// Optimiser updates of the whole run.
    public var steps: Int
    /// Micro-batches whose gradients are averaged into one update.
    public var accumulate: Int
    /// Global gradient-norm clip (torch's clip_grad_norm_); nil: no clipping.
    public var maxGradNorm: Float?
    /// Updates between checkpoints (the last update always checkpoints).
    public var checkpointEvery: Int
    /// Checkpoints kept on disk (the newest ones).
    public var keepCheckpoints: Int
    /// Updates between progress lines.
    public var logEvery: Int

    /// Loop settings; the defaults clip at 1 and checkpoint every 10 updates.
    public init(steps: Int, accumulate: Int = 1, maxGradNorm: Float? = 1, checkpointEvery: Int = 10,
                keepCheckpoints: Int = 2, logEvery: Int = 1) {
        self.steps = steps
        self.accumulate = accumulate
        self.maxGradNorm = maxGradNorm
        self.checkpointEvery = checkpointEvery
        self.keepCheckpoints = keepCheckpoints
        self.logEvery = logEvery
    }

    /// Fails with `badInput` naming the flag of the first value out of range.
    public func validate() throws {
        guard steps >= 1 else { throw TweedieError.badInput("--steps: must be at least 1, got \(steps)") }
        guard accumulate >= 1 else { throw TweedieError.badInput("--accumulate: must be at least 1, got \(accumulate)") }
        if let c = maxGradNorm, !(c > 0 && c.isFinite) {
            throw TweedieError.badInput("--grad-clip: must be a positive number, got \(c)")
        }
        guard checkpointEvery >= 1 else {
            throw TweedieError.badInput("--checkpoint-every: must be at least 1, got \(checkpointEvery)")
        }
        guard keepCheckpoints >= 1 else {
            throw TweedieError.badInput("--keep-checkpoints: must be at least 1, got \(keepCheckpoints)")
        }
        guard logEvery >= 1 else { throw TweedieError.badInput("--log-every: must be at least 1, got \(logEvery)") }
    }
}
