import CZlib

/// The checksums of the zlib and gzip containers (and of PNG chunks), computed by the system zlib.
public enum Checksum {
    /// CRC-32 (ISO 3309, reflected polynomial 0xEDB88320) of `bytes` continuing from `crc` (start with 0), as gzip
    /// trailers and PNG chunks use it.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return UInt32(truncatingIfNeeded: crc32_z(uLong(crc), base.assumingMemoryBound(to: Bytef.self),
                                                  z_size_t(bytes.count)))
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
        let start = adler32_z(0, nil, 0)  // zlib's initial value, 1
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return UInt32(start) }
        return UInt32(truncatingIfNeeded: adler32_z(start, base.assumingMemoryBound(to: Bytef.self),
                                                    z_size_t(bytes.count)))
    }
}
