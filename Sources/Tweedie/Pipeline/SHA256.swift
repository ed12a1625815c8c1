import Crypto
import Foundation
import TweedieCore

/// SHA-256 hex digests of files and byte buffers (swift-crypto): the weights hash recorded in image metadata
/// (A1111 shows its first 10 hex digits as "Model hash").
public enum SHA256 {
    /// Lower-case hex digest of `bytes`.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var hasher = Crypto.SHA256()
        hasher.update(bufferPointer: bytes)
        return hex(hasher.finalize())
    }

    /// Lower-case hex digest of a byte array.
    public static func hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { hex($0) } }

    /// Lower-case hex digest of the file at `path`, read in 1 MiB chunks; unreadable files are `badInput`.
    public static func hex(fileAt path: String) throws -> String {
        func failure(_ what: String) -> TweedieError {
            .badInput("\(path): cannot read for hashing (\(what): \(String(cString: strerror(errno))))")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open") }
        defer { close(fd) }
        var hasher = Crypto.SHA256()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = read(fd, chunk.baseAddress, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("read")
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: chunk[..<n]))
        }
        return hex(hasher.finalize())
    }

    private static func hex(_ digest: Crypto.SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
