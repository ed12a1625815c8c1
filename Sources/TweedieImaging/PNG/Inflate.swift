/// A small DEFLATE (RFC 1951) decoder inside the zlib (RFC 1950) wrapper, used only for compressed text chunks
/// (zTXt, compressed iTXt). The engine links libpng but not zlib itself, and libpng's simplified API that we use
/// for pixels does not expose text, so this stays in Swift. Structure follows zlib's reference `puff` decoder.
enum Inflate {
    /// Why a stream could not be decoded, in a few words.
    struct Failure: Error { let reason: String }

    /// Decompresses a zlib stream, refusing to produce more than `limit` bytes (guards against bombs).
    static func zlib(_ input: ArraySlice<UInt8>, limit: Int) throws -> [UInt8] {
        let bytes = Array(input)
        guard bytes.count >= 6 else { throw Failure(reason: "zlib stream too short") }
        let cmf = Int(bytes[0]), flg = Int(bytes[1])
        guard cmf & 0x0F == 8, cmf >> 4 <= 7, (cmf * 256 + flg) % 31 == 0 else {
            throw Failure(reason: "bad zlib header")
        }
        guard flg & 0x20 == 0 else { throw Failure(reason: "zlib preset dictionary not supported") }
        var state = State(bytes: bytes, position: 2, limit: limit)
        try state.run()
        // The Adler-32 trailer starts at the next byte boundary after the final block.
        let p = state.position
        guard p + 4 <= bytes.count else { throw Failure(reason: "zlib stream truncated before checksum") }
        let stored = bytes[p..<p + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard stored == adler32(state.output) else { throw Failure(reason: "zlib checksum mismatch") }
        return state.output
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var i = 0
        while i < data.count {
            // 5552 is the largest run for which b cannot overflow 32 bits before the modulo.
            let end = min(i + 5552, data.count)
            while i < end { a &+= UInt32(data[i]); b &+= a; i += 1 }
            a %= 65521; b %= 65521
        }
        return b << 16 | a
    }

    /// Canonical Huffman code: number of codes per length and symbols ordered by code.
    private struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int]

        init(lengths: ArraySlice<Int>) throws {
            symbols = [Int](repeating: 0, count: lengths.count)
            for l in lengths { counts[l] += 1 }
            var left = 1
            for len in 1..<16 {
                left <<= 1
                left -= counts[len]
                if left < 0 { throw Failure(reason: "over-subscribed Huffman code") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
            for (sym, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = sym
                offsets[l] += 1
            }
        }
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
                                     99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5,
                                      5, 0]
    private static let distBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
                                   1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11,
                                    12, 12, 13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private struct State {
        let bytes: [UInt8]
        var position: Int
        let limit: Int
        var output: [UInt8] = []
        var bitBuffer = 0
        var bitCount = 0

        init(bytes: [UInt8], position: Int, limit: Int) {
            self.bytes = bytes
            self.position = position
            self.limit = limit
        }

        mutating func bits(_ n: Int) throws -> Int {
            while bitCount < n {
                guard position < bytes.count else { throw Failure(reason: "deflate stream truncated") }
                bitBuffer |= Int(bytes[position]) << bitCount
                position += 1
                bitCount += 8
            }
            let v = bitBuffer & ((1 << n) - 1)
            bitBuffer >>= n
            bitCount -= n
            return v
        }

        mutating func decode(_ h: Huffman) throws -> Int {
            var code = 0, first = 0, index = 0
            for len in 1..<16 {
                code |= try bits(1)
                let count = h.counts[len]
                if code - count < first { return h.symbols[index + (code - first)] }
                index += count
                first = (first + count) << 1
                code <<= 1
            }
            throw Failure(reason: "invalid Huffman code")
        }

        mutating func run() throws {
            var last = 0
            repeat {
                last = try bits(1)
                switch try bits(2) {
                case 0: try stored()
                case 1: try codes(Inflate.fixed.lit, Inflate.fixed.dist)
                case 2:
                    let (lit, dist) = try dynamicTables()
                    try codes(lit, dist)
                default: throw Failure(reason: "invalid deflate block type")
                }
            } while last == 0
            bitBuffer = 0
            bitCount = 0
        }

        mutating func stored() throws {
            bitBuffer = 0  // drop the rest of the current byte
            bitCount = 0
            guard position + 4 <= bytes.count else { throw Failure(reason: "stored block truncated") }
            let len = Int(bytes[position]) | Int(bytes[position + 1]) << 8
            let nlen = Int(bytes[position + 2]) | Int(bytes[position + 3]) << 8
            guard len == (~nlen & 0xFFFF) else { throw Failure(reason: "stored block length check failed") }
            position += 4
            guard position + len <= bytes.count else { throw Failure(reason: "stored block truncated") }
            guard output.count + len <= limit else { throw Failure(reason: "decompressed text exceeds \(limit) bytes") }
            output.append(contentsOf: bytes[position..<position + len])
            position += len
        }

        mutating func dynamicTables() throws -> (Huffman, Huffman) {
            let nlen = try bits(5) + 257, ndist = try bits(5) + 1, ncode = try bits(4) + 4
            guard nlen <= 286, ndist <= 30 else { throw Failure(reason: "bad dynamic block counts") }
            var lengths = [Int](repeating: 0, count: 19)
            for i in 0..<ncode { lengths[Inflate.codeLengthOrder[i]] = try bits(3) }
            let lencode = try Huffman(lengths: lengths[...])
            lengths = [Int](repeating: 0, count: nlen + ndist)
            var i = 0
            while i < nlen + ndist {
                var sym = try decode(lencode)
                if sym < 16 {
                    lengths[i] = sym
                    i += 1
                    continue
                }
                var value = 0
                if sym == 16 {
                    guard i > 0 else { throw Failure(reason: "repeat with no previous length") }
                    value = lengths[i - 1]
                    sym = 3 + (try bits(2))
                } else if sym == 17 {
                    sym = 3 + (try bits(3))
                } else {
                    sym = 11 + (try bits(7))
                }
                guard i + sym <= nlen + ndist else { throw Failure(reason: "too many code lengths") }
                for _ in 0..<sym { lengths[i] = value; i += 1 }
            }
            guard lengths[256] != 0 else { throw Failure(reason: "no end-of-block code") }
            return (try Huffman(lengths: lengths[0..<nlen]), try Huffman(lengths: lengths[nlen...]))
        }

        mutating func codes(_ lit: Huffman, _ dist: Huffman) throws {
            while true {
                let sym = try decode(lit)
                if sym < 256 {
                    guard output.count < limit else { throw Failure(reason: "decompressed text exceeds \(limit) bytes") }
                    output.append(UInt8(sym))
                } else if sym == 256 {
                    return
                } else {
                    let li = sym - 257
                    guard li < 29 else { throw Failure(reason: "invalid length symbol") }
                    let len = Inflate.lengthBase[li] + (try bits(Inflate.lengthExtra[li]))
                    let di = try decode(dist)
                    guard di < 30 else { throw Failure(reason: "invalid distance symbol") }
                    let d = Inflate.distBase[di] + (try bits(Inflate.distExtra[di]))
                    guard d <= output.count else { throw Failure(reason: "distance too far back") }
                    guard output.count + len <= limit else {
                        throw Failure(reason: "decompressed text exceeds \(limit) bytes")
                    }
                    let start = output.count - d
                    for k in 0..<len { output.append(output[start + k]) }
                }
            }
        }
    }

    private static let fixed: (lit: Huffman, dist: Huffman) = {
        var l = [Int](repeating: 8, count: 288)
        for i in 144..<256 { l[i] = 9 }
        for i in 256..<280 { l[i] = 7 }
        // Both tables are complete canonical codes, so construction cannot fail.
        let lit = try! Huffman(lengths: l[...])
        let dist = try! Huffman(lengths: [Int](repeating: 5, count: 30)[...])
        return (lit, dist)
    }()
}
