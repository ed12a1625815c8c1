/// gzip (RFC 1952) decompression: every member is checked (header flags, optional header CRC16, CRC-32 and ISIZE
/// trailer) and the outputs of consecutive members are concatenated, as `gzip -d` does. Zero bytes after the last
/// member are tolerated (tape-style padding); any other trailing bytes are an error.
public enum Gzip {
    private static let fhcrc: UInt8 = 0x02, fextra: UInt8 = 0x04
    private static let fname: UInt8 = 0x08, fcomment: UInt8 = 0x10

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
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self), hasMagic(input) else {
            throw Inflate.Failure(reason: "not a gzip file (magic 1f 8b missing)")
        }
        let end = input.count
        // The last member's ISIZE is the whole output for the usual single-member file: reserve it up front,
        // bounded by DEFLATE's best ratio (~1032:1) so a forged trailer cannot force a huge allocation.
        var hint = 0
        if end >= 18 { hint = Int(readUInt32(base, end - 4)) }
        hint = min(hint, end &* 1032 &+ 1024, limit)
        let decoder = InflateDecoder(limit: limit, capacityHint: hint)
        var p = 0
        var member = 1
        while true {
            p = try readMember(base, end: end, at: p, decoder: decoder, member: member)
            if p == end { break }
            if p + 1 < end && base[p] == 0x1F && base[p + 1] == 0x8B {
                member += 1
                continue
            }
            guard (p..<end).allSatisfy({ base[$0] == 0 }) else {
                throw Inflate.Failure(reason: "trailing garbage after gzip member \(member) at byte \(p)")
            }
            break
        }
        return decoder.takeArray()
    }

    /// Parses one member starting at `start`; returns the offset just past its trailer.
    private static func readMember(_ base: UnsafePointer<UInt8>, end: Int, at start: Int,
                                   decoder: InflateDecoder, member: Int) throws -> Int {
        func fail(_ what: String) -> Inflate.Failure { Inflate.Failure(reason: "gzip member \(member): \(what)") }
        guard start + 10 <= end else { throw fail("header truncated") }
        guard base[start] == 0x1F, base[start + 1] == 0x8B else { throw fail("bad magic") }
        guard base[start + 2] == 8 else { throw fail("compression method \(base[start + 2]) is not deflate") }
        let flags = base[start + 3]
        guard flags & 0xE0 == 0 else { throw fail("reserved header flag bits set") }
        var p = start + 10
        if flags & fextra != 0 {
            guard p + 2 <= end else { throw fail("extra field truncated") }
            let xlen = Int(base[p]) | Int(base[p + 1]) << 8
            p += 2 + xlen
            guard p <= end else { throw fail("extra field truncated") }
        }
        for (flag, name) in [(fname, "file name"), (fcomment, "comment")] where flags & flag != 0 {
            while p < end && base[p] != 0 { p += 1 }
            guard p < end else { throw fail("unterminated \(name)") }
            p += 1
        }
        if flags & fhcrc != 0 {
            guard p + 2 <= end else { throw fail("header CRC truncated") }
            let crc = Checksum.crc32(UnsafeRawBufferPointer(start: base + start, count: p - start))
            let stored = UInt32(base[p]) | UInt32(base[p + 1]) << 8
            guard stored == crc & 0xFFFF else { throw fail("header CRC16 mismatch") }
            p += 2
        }
        let outputStart = decoder.count
        do {
            p = try decoder.inflate(base, end: end, from: p)
        } catch let failure as Inflate.Failure {
            throw fail(failure.reason)
        }
        guard p + 8 <= end else { throw fail("trailer truncated (CRC-32 and ISIZE missing)") }
        let produced = decoder.output(from: outputStart)
        let crc = Checksum.crc32(UnsafeRawBufferPointer(produced))
        guard readUInt32(base, p) == crc else {
            throw fail("CRC-32 mismatch (stored \(hex(readUInt32(base, p))), data \(hex(crc)))")
        }
        guard readUInt32(base, p + 4) == UInt32(truncatingIfNeeded: produced.count) else {
            throw fail("ISIZE \(readUInt32(base, p + 4)) does not match \(produced.count) decompressed bytes")
        }
        return p + 8
    }

    private static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    private static func readUInt32(_ base: UnsafePointer<UInt8>, _ p: Int) -> UInt32 {
        UInt32(base[p]) | UInt32(base[p + 1]) << 8 | UInt32(base[p + 2]) << 16 | UInt32(base[p + 3]) << 24
    }
}
