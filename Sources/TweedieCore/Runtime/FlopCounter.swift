import Synchronization

/// Counts floating-point operations issued through GEMM (2·m·n·k each), so benchmarks can report GFLOP/s of
/// exactly the work the engine did. Counting is always on: one atomic add per GEMM call.
public enum FlopCounter {
    private static let total = Atomic<Int>(0)

    /// Adds `flops` to the running total.
    @inlinable public static func add(_ flops: Int) { _add(flops) }
    @usableFromInline static func _add(_ flops: Int) { total.add(flops, ordering: .relaxed) }

    /// Operations counted since the last reset.
    public static var count: Int { total.load(ordering: .relaxed) }

    /// Sets the total back to zero.
    public static func reset() { total.store(0, ordering: .relaxed) }
}
