#if canImport(Glibc)
import Glibc
#endif

/// Learning rate per optimiser step: linear warm-up from 0, then a half-cosine decay to 0 at `totalSteps`
/// (diffusers' `get_cosine_schedule_with_warmup` with num_cycles 0.5, i.e. LambdaLR's factor at step k), or
/// constant after warm-up.
public struct LearningRateSchedule: Equatable {
    /// Shape after the warm-up.
    public enum Decay: String { case cosine, constant }

    /// Peak learning rate.
    public var base: Float
    /// Steps of linear warm-up.
    public var warmupSteps: Int
    /// Steps at which the cosine reaches zero.
    public var totalSteps: Int
    /// What follows the warm-up.
    public var decay: Decay

    /// A schedule peaking at `base`.
    public init(base: Float, warmupSteps: Int, totalSteps: Int, decay: Decay = .cosine) {
        self.base = base
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
    }

    /// The rate of (0-based) optimiser step `step`.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return base * Float(Double(step) / Double(max(1, warmupSteps))) }
        guard decay == .cosine else { return base }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return base * Float(max(0, 0.5 * (1 + cos(Double.pi * progress))))
    }
}
