import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// What the engine runs on: CPU model and flags, and the OpenBLAS kernel family picked at load time.
public enum SystemInfo {
    /// The OpenBLAS kernel family in use (e.g. "Haswell", "SkylakeX", "Cooperlake", "Prescott").
    public static var openBLASCore: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS build configuration string (version, threading, DYNAMIC_ARCH).
    public static var openBLASConfig: String { String(cString: openblas_get_config()) }

    /// The CPU's feature flags from /proc/cpuinfo (empty where that file is absent).
    public static var cpuFlags: [String] { cpuinfoField("flags")?.split(separator: " ").map(String.init) ?? [] }

    /// The CPU's model name from /proc/cpuinfo.
    public static var cpuModel: String { cpuinfoField("model name") ?? "unknown" }

    private static func cpuinfoField(_ key: String) -> String? {
        guard let text = readTextFile("/proc/cpuinfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: " \t")
            if name == key { return line[line.index(after: colon)...].trimmingCharacters(in: " \t") }
        }
        return nil
    }
}

/// Reads a whole text file with plain POSIX calls (works for /proc files whose size reads as 0).
public func readTextFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
