import CZlib

/// Decompression of zlib (RFC 1950) streams through the system zlib; `Gzip` reads the RFC 1952 container with the
/// same machinery. Used by PNG text chunks and by the gzip-compressed data sets.
public enum Inflate {
    /// Why a stream could not be decoded, in a few words (callers prefix the file name).
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// Decompresses a zlib stream, refusing to produce more than `limit` bytes (guards against bombs). Bytes after
    /// the stream's Adler-32 trailer are ignored.
    public static func zlib(_ input: ArraySlice<UInt8>, limit: Int) throws -> [UInt8] {
        try input.withUnsafeBytes { bytes in
            let stream = try InflateStream(windowBits: MAX_WBITS, limit: limit,
                                           capacityHint: min(limit, bytes.count &* 4))
            _ = try stream.inflate(bytes, from: 0)
            return stream.takeOutput()
        }
    }
}

/// One zlib inflate state decoding into a growing buffer of at most `limit` bytes. `windowBits` selects the
/// container as zlib's `inflateInit2` does (MAX_WBITS: zlib, 16 + MAX_WBITS: gzip); `reset()` starts the next
/// stream (gzip member) appending to the same output.
final class InflateStream {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var output: [UInt8]
    /// Bytes of `output` produced so far.
    private(set) var count = 0
    private let limit: Int
    /// The zlib container name, for the checksum message.
    private let checksumName: String

    init(windowBits: Int32, limit: Int, capacityHint: Int) throws {
        self.limit = limit
        checksumName = windowBits > MAX_WBITS ? "CRC-32" : "Adler-32"
        output = [UInt8](repeating: 0, count: max(min(capacityHint, limit), 4096))
        stream.initialize(to: z_stream())
        let rc = tweedie_inflate_init2(stream, windowBits)
        guard rc == Z_OK else {
            stream.deallocate()
            throw Inflate.Failure(reason: "zlib could not start inflating (\(rc))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Prepares for a further stream appended to the same output.
    func reset() { inflateReset(stream) }

    /// The decompressed bytes.
    func takeOutput() -> [UInt8] {
        output.removeSubrange(count...)
        return output
    }

    /// Decodes one stream starting at byte `start` of `input`; returns the offset just past its trailer.
    func inflate(_ input: UnsafeRawBufferPointer, from start: Int) throws -> Int {
        guard let base = input.baseAddress?.assumingMemoryBound(to: Bytef.self) else {
            throw Inflate.Failure(reason: "stream truncated")
        }
        var position = start
        while true {
            if count == output.count { try grow() }
            let given = min(input.count - position, Int(UInt32.max))
            let room = min(output.count - count, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: base + position)
            stream.pointee.avail_in = uInt(given)
            let rc = output.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.pointee.next_out = out.baseAddress! + count
                stream.pointee.avail_out = uInt(room)
                return CZlib.inflate(stream, Z_NO_FLUSH)
            }
            position += given - Int(stream.pointee.avail_in)
            count += room - Int(stream.pointee.avail_out)
            switch rc {
            case Z_STREAM_END:
                guard count <= limit else {
                    throw Inflate.Failure(reason: "decompressed data exceeds \(limit) bytes")
                }
                return position
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.pointee.avail_out == 0:
                continue
            case Z_BUF_ERROR:
                throw Inflate.Failure(reason: "stream truncated (input ends after \(input.count - start) bytes)")
            case Z_NEED_DICT:
                throw Inflate.Failure(reason: "preset dictionary not supported")
            case Z_MEM_ERROR:
                throw Inflate.Failure(reason: "out of memory")
            default:
                throw Inflate.Failure(reason: failureReason())
            }
        }
    }

    /// Room for more output: doubled, up to one byte past `limit` so that overshooting it is seen.
    private func grow() throws {
        guard count <= limit else { throw Inflate.Failure(reason: "decompressed data exceeds \(limit) bytes") }
        let ceiling = limit == .max ? limit : limit + 1
        let next = min(max(output.count * 2, 4096), ceiling)
        output.append(contentsOf: repeatElement(0, count: next - output.count))
    }

    /// zlib's message for a corrupt stream, in the words of the container's fields where it names one.
    private func failureReason() -> String {
        let message = stream.pointee.msg.map { String(cString: $0) } ?? "corrupt data"
        switch message {
        case "incorrect data check": return "\(checksumName) mismatch (data corrupt)"
        case "incorrect length check": return "ISIZE does not match the decompressed length"
        case "header crc mismatch": return "header CRC16 mismatch"
        case "unknown header flags set": return "reserved header flag bits set"
        case "incorrect header check": return "bad zlib header"
        default: return "corrupt deflate data (\(message))"
        }
    }
}
