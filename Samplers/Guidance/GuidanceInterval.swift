import TweedieCore

/// Limits another guider to an interval of the run (Kynkäänniemi et al. 2024, "Applying Guidance in a Limited
/// Interval Improves Sample and Distribution Quality"): step i of n is guided when start <= i/n < stop, otherwise
/// the plain conditional prediction is used (and the unconditional pass skipped).
public final class GuidanceInterval: Guider {
    /// The guider used inside the interval.
    public let inner: Guider
    /// Fractions of the run, 0 <= start <= stop <= 1.
    public let start: Double, stop: Double

    /// Applies `inner` only on steps with start <= step/total < stop.
    public init(_ inner: Guider, start: Double, stop: Double) throws {
        guard 0 <= start, start <= stop, stop <= 1 else {
            throw TweedieError.badInput("guidance interval must satisfy 0 <= start <= stop <= 1, got [\(start), \(stop)]")
        }
        self.inner = inner
        self.start = start
        self.stop = stop
    }

    /// Whether step `step` of `total` lies inside the interval.
    public func contains(step: Int, total: Int) -> Bool {
        let f = Double(step) / Double(max(1, total))
        return f >= start && f < stop
    }

    public func needsUnconditional(step: Int, total: Int) -> Bool {
        contains(step: step, total: total) && inner.needsUnconditional(step: step, total: total)
    }

    public func combine(conditional: Tensor, unconditional: Tensor, step: Int, total: Int) -> Tensor {
        guard contains(step: step, total: total) else { return conditional }
        return inner.combine(conditional: conditional, unconditional: unconditional, step: step, total: total)
    }

    public func reset() { inner.reset() }
}
