#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TweedieCore

/// A whole file mapped read-only into memory; unmapped when the last reference goes away.
/// Checkpoints are read through this so multi-gigabyte files cost page cache, not heap copies.
final class MappedFile: @unchecked Sendable {
    /// Path the file was opened from (used in error messages).
    let path: String
    /// Start of the mapping (nil for an empty file, which cannot be mapped).
    let base: UnsafeRawPointer?
    /// File size in bytes.
    let size: Int

    /// Maps `path`; a missing, unreadable or non-regular file is `badInput` naming the path.
    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw TweedieError.badInput("\(path): cannot open file: \(Self.errnoText())") }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw TweedieError.badInput("\(path): cannot stat file: \(Self.errnoText())") }
        if (st.st_mode & S_IFMT) != S_IFREG { throw TweedieError.badInput("\(path): not a regular file") }
        size = Int(st.st_size)
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        if p == MAP_FAILED || p == nil {
            throw TweedieError.badInput("\(path): cannot map file: \(Self.errnoText())")
        }
        base = UnsafeRawPointer(p!)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// The bytes in `range` (caller has bounds-checked it against `size`).
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "MappedFile: range out of bounds")
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Drops the resident pages lying wholly inside `range` once their bytes have been copied out: they count in
    /// the process's RSS while mapped, so loading a checkpoint would otherwise hold the file and the decoded
    /// tensors at once. A later read of the range faults the bytes back in from the file.
    func release(_ range: Range<Int>) {
        guard let base, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page, end = range.upperBound / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
