#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's peak resident set size (getrusage's ru_maxrss, the kernel's high-water mark that /proc reports
/// as VmHWM), for memory comparisons between runs.
public enum PeakMemory {
    /// Peak RSS in megabytes (MiB; 0 if getrusage fails).
    public static var megabytes: Double {
        var usage = rusage()
        #if canImport(Darwin)
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        return Double(usage.ru_maxrss) / (1024 * 1024)  // bytes on Darwin
        #else
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Double(usage.ru_maxrss) / 1024  // KiB on Linux
        #endif
    }
}
