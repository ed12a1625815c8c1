#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TweedieCore

/// Writes safetensors files: Float32 tensors as F32, integer arrays as I64 and quantized weights as I8, in sorted
/// name order, with the
/// header padded with spaces to a multiple of 8 bytes as the reference implementation does.
/// The file is written under a temporary name and renamed into place, so the final path never holds a partial file.
public enum SafeTensorsWriter {
    /// Writes `tensors` (F32), `int64` and `int8` entries (name, values, shape) and `metadata` to `path`.
    /// Duplicate or reserved names, a shape that does not match the element count, or an unwritable path are
    /// `badInput` naming the path.
    public static func write(_ tensors: [(String, Tensor)], int64: [(String, [Int64], [Int])] = [],
                             int8: [(String, [Int8], [Int])] = [],
                             metadata: [String: String] = [:], to path: String) throws {
        enum Payload { case floats(Tensor), ints([Int64]), bytes([Int8]) }
        var items: [(name: String, dtype: String, shape: [Int], payload: Payload)] = []
        for (name, t) in tensors {
            guard t.shape.reduce(1, *) == t.data.count else {
                throw TweedieError.badInput("\(path): tensor '\(name)': shape \(t.shape) does not hold "
                                            + "\(t.data.count) elements")
            }
            items.append((name, "F32", t.shape, .floats(t)))
        }
        for (name, values, shape) in int64 {
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
                throw TweedieError.badInput("\(path): tensor '\(name)': shape \(shape) does not hold "
                                            + "\(values.count) elements")
            }
            items.append((name, "I64", shape, .ints(values)))
        }
        for (name, values, shape) in int8 {
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
                throw TweedieError.badInput("\(path): tensor '\(name)': shape \(shape) does not hold "
                                            + "\(values.count) elements")
            }
            items.append((name, "I8", shape, .bytes(values)))
        }
        items.sort { $0.name < $1.name }
        for i in items.indices {
            if items[i].name == "__metadata__" {
                throw TweedieError.badInput("\(path): tensor '__metadata__': name is reserved for metadata")
            }
            if i > 0 && items[i].name == items[i - 1].name {
                throw TweedieError.badInput("\(path): tensor '\(items[i].name)': name given twice")
            }
        }

        // Header: one JSON object of the tensors (dtype, shape, contiguous data offsets) and the metadata.
        var header: [String: JSONOutput] = [:]
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues(JSONOutput.string)) }
        var offset = 0
        for item in items {
            let bytes = item.shape.reduce(1, *) * ["F32": 4, "I64": 8, "I8": 1][item.dtype]!
            header[item.name] = .object(["dtype": .string(item.dtype), "shape": .ints(item.shape),
                                         "data_offsets": .ints([offset, offset + bytes])])
            offset += bytes
        }
        let json = JSONOutput.object(header).text
        var headerBytes = Array(json.utf8)
        headerBytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))

        let out = try OutputFile(finalPath: path)
        do {
            var length = UInt64(headerBytes.count).littleEndian
            try withUnsafeBytes(of: &length) { try out.write($0) }
            try headerBytes.withUnsafeBytes { try out.write($0) }
            for item in items {
                switch item.payload {
                case .floats(let t): try t.data.withUnsafeBytes { try out.write($0) }
                case .ints(let v): try v.withUnsafeBytes { try out.write($0) }
                case .bytes(let v): try v.withUnsafeBytes { try out.write($0) }
                }
            }
            try out.commit()
        } catch {
            out.abandon()
            throw error
        }
    }
}

/// The POSIX write(2), named apart from `OutputFile.write`.
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }

/// A file being written under "<final>.tmp-<pid>", moved to its final name only by `commit()`.
private final class OutputFile {
    let finalPath: String
    let tempPath: String
    private var fd: Int32

    init(finalPath: String) throws {
        self.finalPath = finalPath
        tempPath = "\(finalPath).tmp-\(getpid())"
        fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw fail("cannot create file") }
    }

    /// Writes all of `bytes`, resuming after partial writes and signals.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = posixWrite(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("cannot write")
            }
            p += n
            left -= n
        }
    }

    /// Flushes to disk and renames into place, so readers see either the old file or the complete new one.
    func commit() throws {
        if fsync(fd) != 0 { throw fail("cannot flush") }
        let rc = close(fd)
        fd = -1
        if rc != 0 { throw fail("cannot close") }
        if rename(tempPath, finalPath) != 0 { throw fail("cannot rename \(tempPath) into place") }
    }

    /// Closes and removes the temporary file after a failure.
    func abandon() {
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(tempPath)
    }

    private func fail(_ what: String) -> TweedieError {
        .badInput("\(finalPath): \(what): \(String(cString: strerror(errno)))")
    }

    deinit { if fd >= 0 { close(fd) } }
}
