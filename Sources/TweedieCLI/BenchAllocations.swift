import CAllocationCounter
import Tweedie

/// Heap allocations counted by the process's counting malloc (Sources/CAllocationCounter): every malloc, calloc,
/// realloc and aligned allocation of every thread and library while the counted work ran, and the bytes they asked
/// for. The counts are deterministic for a given model, batch and thread count, so a busy machine does not move them.
struct AllocationCount: Equatable {
    var calls: Int
    var bytes: Int

    /// Whether the counting malloc is this process's malloc; when it is not, counts would read 0 and mean nothing.
    static var available: Bool { tweedie_alloc_hook_active() != 0 }

    /// Counts the allocations of `body`.
    static func of(_ body: () throws -> Void) rethrows -> AllocationCount {
        tweedie_alloc_reset()
        tweedie_alloc_set_counting(1)
        defer { tweedie_alloc_set_counting(0) }
        try body()
        return current
    }

    /// The totals since the last reset.
    static var current: AllocationCount {
        AllocationCount(calls: Int(tweedie_alloc_calls()), bytes: Int(tweedie_alloc_bytes()))
    }
}

/// Steady-state allocations of one Euler sampling step over `model`: `warmupSteps` uncounted steps (the first calls
/// of a shape build oneDNN primitives and caches), then `countedSteps` steps counted one by one. Euler calls the
/// denoiser once per step, so a step's count is one denoiser call (VP scaling, network, x0 conversion) plus the
/// sampler's own update. Returns the largest step's count: a step that allocates more than the others is what the
/// report should show, not hide in a mean.
func stepAllocations(model: DiffusionModel, x: Tensor, labels: [Int]?, warmupSteps: Int = 2,
                     countedSteps: Int = 3) throws -> AllocationCount {
    // The default DDPM schedule: the count does not depend on the sigma values, only on the shapes.
    let vp = VPDenoiser(alphasCumprod: NoiseSchedule.alphasCumprod(SchedulerConfig()),
                        learnedSigma: model.outChannels == 2 * model.inChannels,
                        nullClass: labels == nil ? nil : 0) { x, t, l in
        try model.forward(x, timesteps: t, classLabels: l)
    }
    // Only nonzero sigmas: Euler's step to sigma 0 is the same update, but the last step of a run may end early.
    let steps = warmupSteps + countedSteps
    let sigmas = SamplingSchedule.karras(steps: steps + 1, sigmaMin: Double(vp.sigmaMin), sigmaMax: Double(vp.sigmaMax))
        .dropLast().map(Float.init)
    // Snapshots after every step, in storage reserved up front so that recording them allocates nothing.
    var marks = [AllocationCount](repeating: AllocationCount(calls: 0, bytes: 0), count: steps)
    var worst = AllocationCount(calls: 0, bytes: 0)
    try marks.withUnsafeMutableBufferPointer { marks in
        tweedie_alloc_reset()
        tweedie_alloc_set_counting(1)
        defer { tweedie_alloc_set_counting(0) }
        _ = try Samplers.euler(model: vp, x: x, sigmas: sigmas, condition: Condition(classLabels: labels),
                               noise: PhiloxNoise(seed: 0)) { info in
            marks[info.step] = AllocationCount.current
            return .continue
        }
        for i in warmupSteps..<steps {
            let step = AllocationCount(calls: marks[i].calls - marks[i - 1].calls,
                                       bytes: marks[i].bytes - marks[i - 1].bytes)
            if step.calls > worst.calls { worst = step }
        }
    }
    return worst
}
