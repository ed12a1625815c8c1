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

    /// The core type to switch to, or nil when the current one is fine or the user chose one.
    public static func recommendedCore(environment: [String: String]) -> String? {
        if environment["OPENBLAS_CORETYPE"] != nil || environment["TWEEDIE_OPENBLAS_REEXEC"] != nil { return nil }
        guard fallbackCores.contains(SystemInfo.openBLASCore) else { return nil }
        return bestCore(flags: Set(SystemInfo.cpuFlags))
    }

    /// Re-executes the current binary with OPENBLAS_CORETYPE set when OpenBLAS picked a generic fallback on a CPU
    /// that allows better, and with GOMP_SPINCOUNT set when the user set no OpenMP wait policy (see
    /// `OpenMPTeam.spinCountSetting`). Returns only when no re-exec was needed (or it failed: we then run slow).
    public static func reexecIfNeeded() {
        var env = [String: String]()
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        // libgomp also reads its settings only when it loads (with oneDNN, before main), so the OpenMP spin
        // setting rides on the same re-exec.
        let core = recommendedCore(environment: env)
        let spin = env["TWEEDIE_OPENBLAS_REEXEC"] == nil ? OpenMPTeam.spinCountSetting(environment: env) : nil
        guard core != nil || spin != nil else { return }
        if let core { setenv("OPENBLAS_CORETYPE", core, 1) }
        if let spin { setenv("GOMP_SPINCOUNT", spin, 1) }
        setenv("TWEEDIE_OPENBLAS_REEXEC", "1", 1)
        let args = CommandLine.unsafeArgv
        execv("/proc/self/exe", args)
    }
}
