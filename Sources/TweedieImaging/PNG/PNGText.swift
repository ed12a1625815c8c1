import TweedieCore

/// Encoding and decoding of PNG text chunks (tEXt, zTXt, iTXt).
///
/// Writing follows PIL's `PngInfo.add_text`, which is what A1111-style tools use for `parameters`: a value that
/// Latin-1 can hold is written as tEXt (no length limit applies), anything else as uncompressed UTF-8 iTXt.
/// Reading accepts all three kinds, decompressing zTXt and compressed iTXt with `Inflate` (zlib).
enum PNGText {
    /// Upper bound on one decompressed text value, so a hostile file cannot exhaust memory.
    static let maxDecompressedBytes = 64 << 20

    /// The chunk that stores `value` under `key`; throws badInput for keys PNG cannot hold.
    static func chunk(key: String, value: String, name: String) throws -> (type: String, data: [UInt8]) {
        let keyBytes = try keywordBytes(key, name: name)
        if value.unicodeScalars.contains(where: { $0.value == 0 }) {
            throw TweedieError.badInput("\(name): text value for key '\(key)' contains a NUL character")
        }
        if value.unicodeScalars.allSatisfy({ $0.value <= 0xFF }) {
            return ("tEXt", keyBytes + [0] + value.unicodeScalars.map { UInt8($0.value) })
        }
        // iTXt: keyword, NUL, compression flag 0, method 0, empty language tag + NUL, empty translation + NUL, text.
        return ("iTXt", keyBytes + [0, 0, 0, 0, 0] + Array(value.utf8))
    }

    /// PNG keywords are 1-79 printable Latin-1 characters without leading, trailing or doubled spaces.
    private static func keywordBytes(_ key: String, name: String) throws -> [UInt8] {
        let scalars = Array(key.unicodeScalars)
        let printable = scalars.allSatisfy { (32...126).contains($0.value) || (161...255).contains($0.value) }
        guard (1...79).contains(scalars.count), printable, scalars.first != " ", scalars.last != " ",
              !key.contains("  ") else {
            throw TweedieError.badInput(
                "\(name): text key '\(key)' is not a valid PNG keyword (1-79 printable Latin-1 characters, "
                    + "no leading, trailing or double spaces)")
        }
        return scalars.map { UInt8($0.value) }
    }

    /// All text entries in stream order.
    static func entries(in bytes: [UInt8], chunks: [PNGChunk], name: String) throws -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        for chunk in chunks where ["tEXt", "zTXt", "iTXt"].contains(chunk.type) {
            out.append(try decode(chunk, bytes: bytes, name: name))
        }
        return out
    }

    private static func decode(_ chunk: PNGChunk, bytes: [UInt8], name: String) throws -> (key: String, value: String) {
        let data = bytes[chunk.data]
        func corrupt(_ what: String) -> TweedieError {
            TweedieError.badInput("\(name): corrupt \(chunk.type) chunk at byte \(chunk.data.lowerBound - 8) (\(what))")
        }
        guard let nul = data.firstIndex(of: 0), nul > data.startIndex else { throw corrupt("no keyword") }
        let key = latin1(data[data.startIndex..<nul])
        var rest = data[(nul + 1)...]
        switch chunk.type {
        case "tEXt":
            return (key, latin1(rest))
        case "zTXt":
            guard rest.first == 0 else { throw corrupt("unknown compression method") }
            return (key, latin1(try inflate(rest.dropFirst(), key: key, corrupt: corrupt)[...]))
        default:
            guard rest.count >= 2 else { throw corrupt("missing compression fields") }
            let compressed = rest[rest.startIndex] != 0
            guard rest[rest.startIndex + 1] == 0 else { throw corrupt("unknown compression method") }
            rest = rest.dropFirst(2)
            for _ in 0..<2 {  // language tag, then translated keyword
                guard let end = rest.firstIndex(of: 0) else { throw corrupt("unterminated language or translation") }
                rest = rest[(end + 1)...]
            }
            let text = compressed ? try inflate(rest, key: key, corrupt: corrupt)[...] : rest
            return (key, String(decoding: text, as: UTF8.self))
        }
    }

    private static func inflate(_ data: ArraySlice<UInt8>, key: String,
                                corrupt: (String) -> TweedieError) throws -> [UInt8] {
        do {
            return try Inflate.zlib(data, limit: maxDecompressedBytes)
        } catch let failure as Inflate.Failure {
            throw corrupt("text '\(key)': \(failure.reason)")
        }
    }

    private static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    }
}
