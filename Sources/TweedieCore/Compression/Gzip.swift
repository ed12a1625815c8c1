import CZlib

/// gzip (RFC 1952) decompression through zlib: every member is checked (header flags, optional header CRC16, CRC-32
/// and ISIZE trailer) and the outputs of consecutive members are concatenated, as `gzip -d` does. Zero bytes after
/// the last member are tolerated (tape-style padding); any other trailing bytes are an error.
public enum Gzip {
    /// True when the bytes begin with the gzip magic number 1f 8b.
    public static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Decompresses all members of a gzip file, producing at most `limit` bytes.
    public static func decompress(_ input: [UInt8], limit: Int = .max) throws -> [UInt8] {
        try input.withUnsafeBytes { try decompress($0, limit: limit) }
    }

    /// Decompresses all members of a gzip file held in memory, producing at most `limit` bytes.
    public static func decompress(_ input: UnsafeRawBufferPointer, limit: Int = .max) throws -> [UInt8] {
        guard hasMagic(input) else { throw Inflate.Failure(reason: "not a gzip file (magic 1f 8b missing)") }
        let end = input.count
        // The last member's ISIZE is the whole output for the usual single-member file: reserve it up front,
        // bounded by DEFLATE's best ratio (~1032:1) so a forged trailer cannot force a huge allocation.
        var hint = 0
        if end >= 18 { hint = Int(input.loadUnaligned(fromByteOffset: end - 4, as: UInt32.self).littleEndian) }
        hint = min(hint, end &* 1032 &+ 1024, limit)
        let stream = try InflateStream(windowBits: 16 + MAX_WBITS, limit: limit, capacityHint: hint)
        var p = 0
        var member = 1
        while true {
            do {
                p = try stream.inflate(input, from: p)
            } catch let failure as Inflate.Failure {
                throw Inflate.Failure(reason: "gzip member \(member): \(failure.reason)")
            }
            if p == end { break }
            if p + 1 < end && input[p] == 0x1F && input[p + 1] == 0x8B {
                member += 1
                stream.reset()
                continue
            }
            guard input[p...].allSatisfy({ $0 == 0 }) else {
                throw Inflate.Failure(reason: "trailing garbage after gzip member \(member) at byte \(p)")
            }
            break
        }
        return stream.takeOutput()
    }
}
