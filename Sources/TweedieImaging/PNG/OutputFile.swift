#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Names of the temporary files outputs are written under before they are renamed into place.
public enum OutputFile {
    /// Bytes of the final name kept in a temporary name: the rest of the file system's 255-byte limit holds the
    /// dot, the ".tmp-<pid>-<random>" tail and the suffix a writer may add (e.g. ".tmp-<pid>"), so a legal final
    /// name always has a legal temporary twin.
    public static let keptNameBytes = 160

    /// A hidden file in the directory of `path`: ".<name, cut to `keptNameBytes`>.tmp-<pid>-<random>".
    public static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var kept = Substring(base)
        // Cut on a character boundary so the name stays valid UTF-8.
        while kept.utf8.count > keptNameBytes { kept = kept.dropLast() }
        return "\(dir).\(kept).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }
}
