import Foundation
import TweedieModels
#if canImport(Glibc)
import Glibc
#endif

/// Wall time of one optimiser step by phase, in seconds on the monotonic clock, and the CPU time the process
/// spent meanwhile (all threads). The phases partition `step()`, so `total` is the whole call; on a shared machine
/// `cpu` is the steadier measure (with one thread it is the step's own work, whatever else runs).
public struct StepTiming: Equatable, Sendable {
    /// Batch indices, images (colouring or rendering), timestep, noise and label-dropout draws.
    public var data: Double = 0
    /// Network forward on the tape and the loss (MSE, plus the variance bound of learned-sigma networks).
    public var forward: Double = 0
    /// `Tape.gradients`: the backward pass to every parameter (recomputation included under checkpointing).
    public var backward: Double = 0
    /// Gradient clipping, the AdamW update and the EMA update.
    public var optimizer: Double = 0
    /// Process CPU time (user + system, every thread) over the whole step.
    public var cpu: Double = 0

    /// A timing from its phases.
    public init(data: Double = 0, forward: Double = 0, backward: Double = 0, optimizer: Double = 0, cpu: Double = 0) {
        self.data = data
        self.forward = forward
        self.backward = backward
        self.optimizer = optimizer
        self.cpu = cpu
    }

    /// The whole step.
    public var total: Double { data + forward + backward + optimizer }
    /// The step without the data phase: what a peer framework timing on ready tensors measures.
    public var compute: Double { forward + backward + optimizer }

    /// Seconds since an arbitrary fixed point, from CLOCK_MONOTONIC (immune to wall-clock changes).
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// CPU seconds this process has used so far (CLOCK_PROCESS_CPUTIME_ID, all threads).
    public static func cpuNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// The step times of one training session as one JSON object (`tweedie train --json`): medians first, then the
/// per-step lists, so a benchmark can drop warm-up steps and take its own statistics.
public struct StepTimingReport {
    /// The session's steps in order.
    public let timings: [StepTiming]
    /// Samples per step.
    public let batch: Int
    /// Extra fields, e.g. step, threads, peak RSS.
    public let fields: [(String, JSONOutput)]

    /// A report over `timings`.
    public init(timings: [StepTiming], batch: Int, fields: [(String, JSONOutput)] = []) {
        self.timings = timings
        self.batch = batch
        self.fields = fields
    }

    /// Median of `values` (mean of the middle two for an even count; 0 when empty).
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// One line of JSON: median_ms (whole step), compute_median_ms (without data), cpu_median_ms, samples_per_s
    /// (from the whole step), the fields, phase medians, then times_ms, cpu_ms and per-phase lists (milliseconds,
    /// to the microsecond).
    public var json: String {
        let phases: [(String, (StepTiming) -> Double)] = [("data", \.data), ("forward", \.forward),
                                                          ("backward", \.backward), ("optimizer", \.optimizer)]
        let total = Self.median(timings.map(\.total))
        var object: [String: JSONOutput] = [
            "median_ms": Self.ms(total),
            "compute_median_ms": Self.ms(Self.median(timings.map(\.compute))),
            "cpu_median_ms": Self.ms(Self.median(timings.map(\.cpu))),
            "samples_per_s": total > 0 ? .number(Double(batch) / total, decimals: 2) : .null,
            "batch": .int(batch),
            "steps_timed": .int(timings.count),
            "phase_median_ms": .object(Dictionary(uniqueKeysWithValues: phases.map { name, f in
                (name, Self.ms(Self.median(timings.map(f))))
            })),
            "times_ms": .array(timings.map { Self.ms($0.total) }),
            "cpu_ms": .array(timings.map { Self.ms($0.cpu) }),
            "phase_ms": .object(Dictionary(uniqueKeysWithValues: phases.map { name, f in
                (name, .array(timings.map { Self.ms(f($0)) }))
            })),
        ]
        for (key, value) in fields { object[key] = value }
        return JSONOutput.object(object).text
    }

    private static func ms(_ seconds: Double) -> JSONOutput { .number(seconds * 1000, decimals: 3) }
}
