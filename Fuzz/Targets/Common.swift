#if canImport(Glibc)
import Glibc
#endif

/// A scratch file in /dev/shm (memory-backed) for readers that take a path: rewritten on every input.
enum FuzzScratch {
    static let path: String = {
        let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        return "\(dir)/tweedie-fuzz-\(getpid())"
    }()

    /// Writes `bytes` to the scratch file (truncating it) and returns its path.
    static func write(_ data: UnsafePointer<UInt8>, _ size: Int, suffix: String = "") -> String {
        let p = path + suffix
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot create \(p)")
        var done = 0
        while done < size {
            let n = Glibc.write(fd, data + done, size - done)
            precondition(n > 0, "cannot write \(p)")
            done += n
        }
        close(fd)
        return p
    }
}
