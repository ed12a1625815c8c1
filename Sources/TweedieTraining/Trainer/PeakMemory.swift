import TweedieCore

/// The process's peak resident set (VmHWM from /proc/self/status), for memory comparisons between runs.
public enum PeakMemory {
    /// Peak RSS in megabytes (0 where /proc is unavailable).
    public static var megabytes: Double {
        guard let text = readTextFile("/proc/self/status") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }
}
