import CBLAS
import Foundation
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
            let name = line[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
            if name == key { return line[line.index(after: colon)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t")) }
        }
        return nil
    }
}

/// Reads a whole text file with plain POSIX calls (works for /proc files whose size reads as 0); nil on failure.
public func readTextFile(_ path: String) -> String? {
    (try? readFile(path)).map { String(decoding: $0, as: UTF8.self) }
}

/// The bytes of the file at `path`, read with plain POSIX calls; a missing, unreadable or non-regular file is
/// `badInput` naming the path and the reason.
public func readFile(_ path: String) throws -> [UInt8] {
    func failure(_ what: String) -> TweedieError {
        .badInput("\(path): \(what): \(String(cString: strerror(errno)))")
    }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw failure("cannot open file") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw failure("cannot stat file") }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw TweedieError.badInput("\(path): not a regular file") }
    var bytes = [UInt8]()
    bytes.reserveCapacity(Int(st.st_size))
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw failure("cannot read file")
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}
