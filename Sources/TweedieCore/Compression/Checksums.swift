/// The checksums of the zlib and gzip containers, in Swift because the engine does not link zlib.
public enum Checksum {
    /// Slicing-by-8 tables for CRC-32 (ISO 3309, reflected polynomial 0xEDB88320): table k advances a byte k
    /// positions further, so eight input bytes cost eight independent lookups instead of a serial chain.
    private static let crcTables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 { t[k * 256 + n] = (t[(k - 1) * 256 + n] >> 8) ^ t[Int(t[(k - 1) * 256 + n] & 0xFF)] }
        }
        return t
    }()

    /// CRC-32 of `bytes` continuing from `crc` (start with 0), as gzip trailers and PNG chunks use it.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        var c = ~crc
        let n = bytes.count
        crcTables.withUnsafeBufferPointer { tb in
            let t = tb.baseAddress!
            var i = 0
            while i + 8 <= n {
                let lo = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self)) ^ c
                let hi = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = t[Int((c ^ UInt32(base.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    /// CRC-32 of a byte slice continuing from `crc`.
    public static func crc32(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0, continuing: crc) }
    }

    /// CRC-32 of a byte array continuing from `crc`.
    public static func crc32(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0, continuing: crc) }
    }

    /// Adler-32 (RFC 1950) of `bytes`, the zlib trailer.
    public static func adler32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var i = 0
        let n = bytes.count
        while i < n {
            // 5552 is the largest run for which b cannot overflow 32 bits before the modulo.
            let end = min(i + 5552, n)
            while i < end { a &+= UInt32(bytes[i]); b &+= a; i += 1 }
            a %= 65521
            b %= 65521
        }
        return b << 16 | a
    }
}
