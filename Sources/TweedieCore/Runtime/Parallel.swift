import Dispatch
import CBLAS

/// Process-wide thread settings: one knob for OpenBLAS and for the engine's own loops.
public enum Runtime {
    nonisolated(unsafe) private static var _threads: Int = defaultThreads()

    /// Threads used by GEMM and by `parallelFor`.
    public static var threads: Int {
        get { _threads }
        set {
            _threads = max(1, newValue)
            openblas_set_num_threads(Int32(_threads))
        }
    }

    private static func defaultThreads() -> Int {
        let n = ProcessInfoLite.activeProcessorCount
        openblas_set_num_threads(Int32(n))
        return n
    }
}

/// Runs `body(i)` for i in 0..<n over at most `Runtime.threads` workers, in contiguous chunks.
/// Small loops (below `grain` items per worker) run inline to avoid dispatch overhead.
@inlinable
public func parallelFor(_ n: Int, grain: Int = 1, _ body: (Int) -> Void) {
    let workers = min(Runtime.threads, max(1, n / max(1, grain)))
    if workers <= 1 || n <= 1 {
        for i in 0..<n { body(i) }
        return
    }
    func chunk(_ w: Int) {
        let lo = n * w / workers, hi = n * (w + 1) / workers
        for i in lo..<hi { body(i) }
    }
    // One pool for the cores: the OpenMP team oneDNN's convolutions already keep awake (see OpenMPTeam).
    if runOnOpenMPTeam(workers, chunk) { return }
    DispatchQueue.concurrentPerform(iterations: workers) { chunk($0) }
}

/// `OpenMPTeam.run` for the inlinable `parallelFor` (which may not name internal types).
@usableFromInline
func runOnOpenMPTeam(_ workers: Int, _ body: (Int) -> Void) -> Bool { OpenMPTeam.run(workers, body) }

/// Processor count without Foundation (sysconf).
public enum ProcessInfoLite {
    /// Online processors as the kernel reports them.
    public static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }
}
#if canImport(Glibc)
import Glibc
#endif
