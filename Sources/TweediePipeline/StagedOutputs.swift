import Foundation
import TweedieCore
import TweedieImaging
import TweedieModels

/// The files of a run, written under temporary names beside their final paths as the run goes and renamed into
/// place only when the whole run has succeeded (`commit`). A failed or interrupted run calls `discard`, which
/// removes every temporary file, so existing files at the final paths are left as they were; `--keep-partial`
/// commits what was finished instead.
public final class StagedOutputs {
    private var staged: [(temp: String, final: String)] = []

    public init() {}

    /// Number of files staged so far.
    public var count: Int { staged.count }

    /// Final paths of the files staged so far, in order.
    public var finalPaths: [String] { staged.map(\.final) }

    /// Writes `bytes` to a new temporary file for `path` (flushed to disk).
    public func stage(_ bytes: [UInt8], for path: String) throws {
        var fd: Int32 = -1
        var temp = ""
        for attempt in 0..<100 {
            temp = OutputFile.temporaryPath(for: path)
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST || attempt == 99 { break }
        }
        guard fd >= 0 else { throw TweedieError.runtime("\(path): cannot create output (\(Self.errnoText()))") }
        staged.append((temp, path))
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "write failed (\(Self.errnoText()))"
                    return
                }
                done += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = "fsync failed (\(Self.errnoText()))" }
        if close(fd) != 0 && failure == nil { failure = "close failed (\(Self.errnoText()))" }
        if let failure { throw TweedieError.runtime("\(path): \(failure)") }
    }

    /// Writes `tensors` as a safetensors file to a temporary file for `path`.
    public func stageTensors(_ tensors: [(String, Tensor)], for path: String) throws {
        let temp = OutputFile.temporaryPath(for: path)
        staged.append((temp, path))
        try SafeTensorsWriter.write(tensors, to: temp)
    }

    /// Renames every staged file to its final path, in order.
    public func commit() throws {
        defer { staged.removeAll() }
        for (k, file) in staged.enumerated() where rename(file.temp, file.final) != 0 {
            let reason = Self.errnoText()
            for rest in staged[k...] { unlink(rest.temp) }
            throw TweedieError.runtime("\(file.final): cannot move the finished file into place (\(reason))")
        }
    }

    /// Removes every staged temporary file; the final paths are untouched.
    public func discard() {
        for (temp, _) in staged { unlink(temp) }
        staged.removeAll()
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
