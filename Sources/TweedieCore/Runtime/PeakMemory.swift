#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's peak resident set size, for memory comparisons between runs.
///
/// On Linux it is VmHWM of /proc/self/status, the high-water mark of this program's own address space. getrusage's
/// ru_maxrss is not: the kernel carries the parent's high-water mark across fork and exec, so a tweedie started by
/// a 400 MB Python process reported 413 MB for a 37 MB run. ru_maxrss remains the fallback (and is what Darwin has).
public enum PeakMemory {
    /// Peak RSS in megabytes (MiB; 0 if it cannot be read).
    public static var megabytes: Double {
        #if os(Linux)
        if let kb = highWaterKiB() { return Double(kb) / 1024 }
        #endif
        var usage = rusage()
        #if canImport(Darwin)
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        return Double(usage.ru_maxrss) / (1024 * 1024)  // bytes on Darwin
        #else
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Double(usage.ru_maxrss) / 1024  // KiB on Linux
        #endif
    }

    #if os(Linux)
    /// The "VmHWM:  1234 kB" line of /proc/self/status.
    static func highWaterKiB() -> Int? {
        guard let f = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(cString: line)
            guard text.hasPrefix("VmHWM:") else { continue }
            // "VmHWM:\t    1234 kB": the first run of digits.
            return Int(String(text.dropFirst(6).drop { !$0.isNumber }.prefix { $0.isNumber }))
        }
        return nil
    }
    #endif
}
