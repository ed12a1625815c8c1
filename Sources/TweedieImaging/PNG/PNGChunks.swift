import TweedieCore

/// One chunk of a PNG stream: its four-letter type and where its data lies in the stream's bytes.
struct PNGChunk {
    let type: String
    let data: Range<Int>
}

/// Pure-Swift walker over a PNG byte stream's chunk structure. It validates everything libpng would trip over
/// before libpng sees the bytes (signature, chunk bounds, CRCs, IHDR first, IEND present), so truncated or corrupt
/// files become one clear `TweedieError.badInput` naming the file.
enum PNGChunks {
    static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

    /// The chunks from IHDR to IEND inclusive; bytes after IEND are ignored, as libpng does.
    static func walk(_ bytes: [UInt8], name: String) throws -> [PNGChunk] {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw TweedieError.badInput("\(name): not a PNG file (bad signature)")
        }
        var chunks: [PNGChunk] = []
        var p = 8
        while true {
            guard p + 12 <= bytes.count else {
                throw TweedieError.badInput("\(name): truncated PNG (stream ends at byte \(bytes.count) without IEND)")
            }
            let length = Int(readUInt32(bytes, p))
            guard length <= 0x7FFF_FFFF else {
                throw TweedieError.badInput("\(name): corrupt PNG (chunk length \(length) at byte \(p))")
            }
            let typeBytes = Array(bytes[p + 4..<p + 8])
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw TweedieError.badInput("\(name): corrupt PNG (invalid chunk type at byte \(p + 4))")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            let start = p + 8, end = start + length
            guard end + 4 <= bytes.count else {
                throw TweedieError.badInput("\(name): truncated PNG (\(type) chunk at byte \(p) runs past the end)")
            }
            let crc = Checksum.crc32(bytes[start..<end], continuing: Checksum.crc32(typeBytes))
            guard crc == readUInt32(bytes, end) else {
                throw TweedieError.badInput("\(name): corrupt PNG (CRC mismatch in \(type) chunk at byte \(p))")
            }
            if chunks.isEmpty && type != "IHDR" {
                throw TweedieError.badInput("\(name): corrupt PNG (first chunk is \(type), not IHDR)")
            }
            chunks.append(PNGChunk(type: type, data: start..<end))
            p = end + 4
            if type == "IEND" { break }
        }
        guard chunks.contains(where: { $0.type == "IDAT" }) else {
            throw TweedieError.badInput("\(name): corrupt PNG (no IDAT chunk)")
        }
        return chunks
    }

    /// Appends one complete chunk (length, type, data, CRC) to `out`.
    static func append(type: String, data: [UInt8], to out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        appendUInt32(UInt32(data.count), to: &out)
        out += typeBytes
        out += data
        appendUInt32(Checksum.crc32(data, continuing: Checksum.crc32(typeBytes)), to: &out)
    }

    /// `png` with the given chunks inserted just before its first IDAT (text is conventionally placed before
    /// the image data so streaming readers see it early).
    static func inserting(_ extra: [(type: String, data: [UInt8])], into png: [UInt8], name: String) throws -> [UInt8] {
        if extra.isEmpty { return png }
        let chunks = try walk(png, name: name)
        guard let idat = chunks.first(where: { $0.type == "IDAT" }) else { return png }
        let cut = idat.data.lowerBound - 8
        var out = [UInt8]()
        out.reserveCapacity(png.count + extra.reduce(0) { $0 + $1.data.count + 12 })
        out += png[0..<cut]
        for chunk in extra { append(type: chunk.type, data: chunk.data, to: &out) }
        out += png[cut...]
        return out
    }

    static func readUInt32(_ b: [UInt8], _ p: Int) -> UInt32 {
        UInt32(b[p]) << 24 | UInt32(b[p + 1]) << 16 | UInt32(b[p + 2]) << 8 | UInt32(b[p + 3])
    }

    static func appendUInt32(_ v: UInt32, to out: inout [UInt8]) {
        out += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }
}
