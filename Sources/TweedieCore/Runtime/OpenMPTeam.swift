#if canImport(Glibc)
import Glibc
#endif

/// The OpenMP team that oneDNN's convolutions run on (Debian's oneDNN uses libgomp), borrowed for the engine's own
/// parallel loops so that one thread pool owns the cores.
///
/// Why: libgomp's workers spin for a while after every parallel region before they sleep. With the loops between
/// convolutions (GroupNorm, SiLU, adds) on Dispatch's workers, a spinning OpenMP worker and a Dispatch worker fought
/// for the same core: measured on the 2-core machine, `tweedie bench --model assets/fashion32 --batch 8` took
/// 880-900 ms per call at 2 threads against 40-45 ms at 1 thread, with 85 % of the cycles (perf record) in libgomp's
/// spin loop and 1.02 CPUs used. Running the loops on the same team hands them to the worker that is already awake.
public enum OpenMPTeam {
    private typealias Region = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private typealias ParallelFunction = @convention(c) (Region, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    private typealias QueryFunction = @convention(c) () -> Int32

    /// libgomp's entry points, looked up in the process (nil when libgomp is not loaded: Dispatch is used then).
    private struct Entry {
        let parallel: ParallelFunction
        let threadNumber: QueryFunction
        let teamSize: QueryFunction
    }

    nonisolated(unsafe) private static let entry: Entry? = {
        if let v = getenv("TWEEDIE_LOOP_THREADS"), String(cString: v) == "dispatch" { return nil }
        guard let p = dlsym(nil, "GOMP_parallel"), let t = dlsym(nil, "omp_get_thread_num"),
              let n = dlsym(nil, "omp_get_num_threads") else { return nil }
        return Entry(parallel: unsafeBitCast(p, to: ParallelFunction.self),
                     threadNumber: unsafeBitCast(t, to: QueryFunction.self),
                     teamSize: unsafeBitCast(n, to: QueryFunction.self))
    }()

    /// How long an idle libgomp thread spins before it sleeps, in pause iterations: libgomp's default (300,000,
    /// about 15 ms with AVX-512-era `pause`) turns any preemption into a stall when the cores are shared (the
    /// master spinning at a barrier for a worker that another process holds), while waking a sleeping thread for
    /// every region costs a futex round trip. Measured on the shared 2-core machine (load 3.8-4.4), fashion32
    /// batch 8 at 2 threads: 1,000 gave 48-68 ms, 10,000 gave 37-40 ms, 50,000 gave 35-57 ms, passive 43-55 ms,
    /// against 42-44 ms at 1 thread.
    public static let spinCount = "10000"

    /// GOMP_SPINCOUNT to run with, or nil when the user chose a wait policy or spin count of their own.
    public static func spinCountSetting(environment: [String: String]) -> String? {
        environment["OMP_WAIT_POLICY"] == nil && environment["GOMP_SPINCOUNT"] == nil ? spinCount : nil
    }

    /// Whether loops run on the OpenMP team (false: on Dispatch, or with TWEEDIE_LOOP_THREADS=dispatch).
    public static var available: Bool { entry != nil }

    /// What a region needs: the loop body and the number of chunks, behind one pointer.
    private struct Job {
        let workers: Int
        let body: (Int) -> Void
    }

    /// Runs `body(w)` for w in 0..<workers on a team of `workers` threads (the calling thread is one of them);
    /// returns false, without running anything, when libgomp is not there. A team smaller than asked for (nested
    /// regions run on one thread) still runs every w.
    static func run(_ workers: Int, _ body: (Int) -> Void) -> Bool {
        guard let entry else { return false }
        withoutActuallyEscaping(body) { body in
            var job = Job(workers: workers, body: body)
            withUnsafeMutablePointer(to: &job) { p in
                entry.parallel({ raw in
                    let job = raw!.assumingMemoryBound(to: Job.self).pointee
                    let e = OpenMPTeam.entry!
                    let me = Int(e.threadNumber()), size = max(1, Int(e.teamSize()))
                    var w = me
                    while w < job.workers {
                        job.body(w)
                        w += size
                    }
                }, UnsafeMutableRawPointer(p), UInt32(workers), 0)
            }
        }
        return true
    }

    nonisolated(unsafe) private static let setNumThreads: (@convention(c) (Int32) -> Void)? =
        dlsym(nil, "omp_set_num_threads").map { unsafeBitCast($0, to: (@convention(c) (Int32) -> Void).self) }

    /// Sets the calling thread's OpenMP team size for the regions oneDNN opens (a per-thread setting that
    /// `Runtime.threads` does not reach); does nothing when libgomp is not loaded.
    static func setThreads(_ n: Int) { setNumThreads?(Int32(n)) }
}
