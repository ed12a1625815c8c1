/// CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320) as PNG chunks use it.
/// Computed in Swift because the engine links libpng but not zlib directly.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Continues a running CRC over `bytes`; start from 0 for a fresh checksum.
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    /// CRC of a chunk's type followed by its data, the span PNG checksums.
    static func chunk(type: [UInt8], data: ArraySlice<UInt8>) -> UInt32 {
        let head = type.withUnsafeBytes { update(0, $0) }
        return data.withUnsafeBytes { update(head, $0) }
    }
}
