#if canImport(Glibc)
import Glibc
#endif

/// Debian's OpenBLAS 0.3.21 does not recognise some recent CPUs and falls back to a generic kernel (measured: the
/// `Prescott` fallback runs sgemm about 6x slower than `Cooperlake` on a current Xeon). The core type is read when
/// the library loads, so the only fix from inside the process is to re-exec with OPENBLAS_CORETYPE set.
public enum OpenBLASCoreGuard {
    /// Kernel families OpenBLAS falls back to when it does not know the CPU.
    public static let fallbackCores: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
                                                     "Atom", "Katmai", "Northwood", "Banias", "Opteron",
                                                     "Barcelona", "Athlon", "Unknown"]

    /// The best OpenBLAS core type for a set of CPU flags, or nil when no AVX kernel applies.
    public static func bestCore(flags: Set<String>) -> String? {
        if flags.contains("avx512f") && flags.contains("avx512_bf16") { return "Cooperlake" }
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        if flags.contains("avx") { return "Sandybridge" }
        return nil
    }

    /// AVX2 kernel families OpenBLAS 0.3.21 gives AMD CPUs, AVX-512 ones (Zen 4) included.
    public static let avx2Cores: Set<String> = ["Haswell", "Zen"]

    /// The core type to switch to, or nil when the current one is fine or the user chose one: a generic fallback
    /// gets the best kernel for the CPU's flags, and an AVX2 kernel on a CPU with AVX-512 gets the AVX-512 one
    /// (measured on an AMD EPYC with AVX-512 at 2 threads: a DiT-S/2 call 83-86 -> 58-64 ms at batch 1 and
    /// 487-531 -> 308-338 ms at batch 8, alternating runs; the U-Net's batch 8 7 % faster, its batch 1 the same).
    public static func recommendedCore(environment: [String: String], current: String = SystemInfo.openBLASCore,
                                       flags: Set<String> = Set(SystemInfo.cpuFlags)) -> String? {
        if environment["OPENBLAS_CORETYPE"] != nil || environment["TWEEDIE_OPENBLAS_REEXEC"] != nil { return nil }
        let best = bestCore(flags: flags)
        if fallbackCores.contains(current) { return best }
        if avx2Cores.contains(current), let best, best != "Haswell", best != "Sandybridge" { return best }
        return nil
    }

    /// How long an idle OpenBLAS worker spins before it sleeps, as OpenBLAS's exponent (2^n cycles; 4 is its
    /// minimum, 28 its default, about 0.1 s). OpenBLAS keeps its own pthread pool beside libgomp's team, so after
    /// each GEMM its workers spin on the cores the team needs next: measured on the 2-core machine, one call of the
    /// CIFAR-10 U-Net at batch 1 and 2 threads took 144 ms with the default and 83 ms with 4 (115 ms at 1 thread).
    public static let threadTimeout = "4"

    /// OPENBLAS_THREAD_TIMEOUT to run with, or nil when the user set one (or GOTO_THREAD_TIMEOUT).
    public static func threadTimeoutSetting(environment: [String: String]) -> String? {
        environment["OPENBLAS_THREAD_TIMEOUT"] == nil && environment["GOTO_THREAD_TIMEOUT"] == nil ? threadTimeout : nil
    }

    /// Re-executes the current binary with OPENBLAS_CORETYPE set when OpenBLAS picked a generic fallback on a CPU
    /// that allows better, with GOMP_SPINCOUNT set when the user set no OpenMP wait policy (see
    /// `OpenMPTeam.spinCountSetting`) and OPENBLAS_THREAD_TIMEOUT when the user set none (`threadTimeout`).
    /// Returns only when no re-exec was needed (or it failed: we then run slow).
    public static func reexecIfNeeded() {
        var env = [String: String]()
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        // libgomp and OpenBLAS read their thread settings only when they load (before main), so the spin and
        // timeout settings ride on the same re-exec.
        let core = recommendedCore(environment: env)
        let spin = env["TWEEDIE_OPENBLAS_REEXEC"] == nil ? OpenMPTeam.spinCountSetting(environment: env) : nil
        let timeout = env["TWEEDIE_OPENBLAS_REEXEC"] == nil ? threadTimeoutSetting(environment: env) : nil
        guard core != nil || spin != nil || timeout != nil else { return }
        if let core { setenv("OPENBLAS_CORETYPE", core, 1) }
        if let spin { setenv("GOMP_SPINCOUNT", spin, 1) }
        if let timeout { setenv("OPENBLAS_THREAD_TIMEOUT", timeout, 1) }
        setenv("TWEEDIE_OPENBLAS_REEXEC", "1", 1)
        let args = CommandLine.unsafeArgv
        execv("/proc/self/exe", args)
    }
}
