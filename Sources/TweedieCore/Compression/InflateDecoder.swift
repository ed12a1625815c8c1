/// The DEFLATE block decoder behind `Inflate` and `Gzip`: one output buffer that can take several streams in a row
/// (gzip members), grown geometrically up to `limit`, with Huffman tables reused across blocks.
final class InflateDecoder {
    private(set) var output: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int
    let limit: Int
    private let literals = HuffmanTable()
    private let distances = HuffmanTable()
    private let codeLengths = HuffmanTable()
    private let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: HuffmanTable.maxSymbols)

    init(limit: Int, capacityHint: Int) {
        self.limit = limit
        capacity = max(capacityHint, 4096)
        output = .allocate(capacity: capacity)
    }

    deinit {
        output.deallocate()
        lengths.deallocate()
    }

    /// The bytes produced so far, from `start`.
    func output(from start: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: output + start, count: count - start)
    }

    /// A copy of everything produced, as an array.
    func takeArray() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            if count > 0 { buf.baseAddress!.initialize(from: output, count: count) }
            n = count
        }
    }

    /// Decodes one DEFLATE stream starting at byte `start` of `base[0..<end]`, appending to the output; returns the
    /// offset of the first byte after the stream. Back-references may not reach output of earlier streams.
    func inflate(_ base: UnsafePointer<UInt8>, end: Int, from start: Int) throws -> Int {
        var reader = BitReader(base: base, end: end, position: start)
        let streamStart = count
        var last = 0
        repeat {
            last = try reader.bits(1)
            switch try reader.bits(2) {
            case 0: try stored(&reader)
            case 1: try codes(Self.fixed.literals, Self.fixed.distances, &reader, streamStart: streamStart)
            case 2:
                try readDynamicTables(&reader)
                try codes(literals, distances, &reader, streamStart: streamStart)
            default: throw Inflate.Failure(reason: "invalid deflate block type")
            }
        } while last == 0
        reader.alignToByte()
        return reader.position
    }

    @inline(never)
    private func reserve(_ needed: Int) throws {
        guard needed <= limit else { throw Inflate.Failure(reason: "decompressed data exceeds \(limit) bytes") }
        let newCapacity = min(max(needed, capacity * 2), limit)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.initialize(from: output, count: count)
        output.deallocate()
        output = grown
        capacity = newCapacity
    }

    private func stored(_ r: inout BitReader) throws {
        r.alignToByte()
        let p = r.position
        guard p + 4 <= r.end else { throw Inflate.Failure(reason: "stored block truncated") }
        let len = Int(r.base[p]) | Int(r.base[p + 1]) << 8
        let nlen = Int(r.base[p + 2]) | Int(r.base[p + 3]) << 8
        guard len == (~nlen & 0xFFFF) else { throw Inflate.Failure(reason: "stored block length check failed") }
        guard p + 4 + len <= r.end else { throw Inflate.Failure(reason: "stored block truncated") }
        if count + len > capacity { try reserve(count + len) }
        (output + count).initialize(from: r.base + p + 4, count: len)
        count += len
        r.position = p + 4 + len
    }

    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private func readDynamicTables(_ r: inout BitReader) throws {
        let nlen = try r.bits(5) + 257, ndist = try r.bits(5) + 1, ncode = try r.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw Inflate.Failure(reason: "bad dynamic block counts") }
        lengths.update(repeating: 0, count: 19)
        for i in 0..<ncode { lengths[Self.codeLengthOrder[i]] = UInt8(try r.bits(3)) }
        try codeLengths.build(lengths: lengths, count: 19)
        let total = nlen + ndist
        lengths.update(repeating: 0, count: total)
        var i = 0
        while i < total {
            let sym = try decodeSymbol(codeLengths, &r)
            if sym < 16 {
                lengths[i] = UInt8(sym)
                i += 1
                continue
            }
            var value: UInt8 = 0, repeats: Int
            switch sym {
            case 16:
                guard i > 0 else { throw Inflate.Failure(reason: "repeat with no previous length") }
                value = lengths[i - 1]
                repeats = 3 + (try r.bits(2))
            case 17: repeats = 3 + (try r.bits(3))
            default: repeats = 11 + (try r.bits(7))
            }
            guard i + repeats <= total else { throw Inflate.Failure(reason: "too many code lengths") }
            (lengths + i).update(repeating: value, count: repeats)
            i += repeats
        }
        guard lengths[256] != 0 else { throw Inflate.Failure(reason: "no end-of-block code") }
        try literals.build(lengths: lengths, count: nlen)
        try distances.build(lengths: lengths + nlen, count: ndist)
    }

    @inline(__always)
    private func decodeSymbol(_ table: HuffmanTable, _ r: inout BitReader) throws -> Int {
        if r.count < 15 { r.refill() }
        let entry = Int(table.fast[Int(r.buffer & HuffmanTable.fastMask)])
        let len = entry & 15
        if len != 0 && len <= r.count {
            r.consume(len)
            return entry >> 4
        }
        let (symbol, slowLen) = try table.slowDecode(r.buffer, available: r.count)
        r.consume(slowLen)
        return symbol
    }

    /// Length and distance codes as base | extraBits << 16 (RFC 1951 3.2.5).
    private static let lengthCodes: UnsafeMutablePointer<Int> = table(
        base: [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
               227, 258],
        extra: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0])
    private static let distanceCodes: UnsafeMutablePointer<Int> = table(
        base: [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
               4097, 6145, 8193, 12289, 16385, 24577],
        extra: [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13])

    /// Process-lifetime tables (never freed), read through a raw pointer in the hot loop.
    private static func table(base: [Int], extra: [Int]) -> UnsafeMutablePointer<Int> {
        let p = UnsafeMutablePointer<Int>.allocate(capacity: base.count)
        for i in base.indices { p[i] = base[i] | extra[i] << 16 }
        return p
    }

    private func codes(_ lit: HuffmanTable, _ dist: HuffmanTable, _ r: inout BitReader, streamStart: Int) throws {
        let lengthCodes = Self.lengthCodes, distanceCodes = Self.distanceCodes
        var n = count
        var out = output
        defer { count = n }
        while true {
            if r.count < 48 { r.refill() }
            let sym = try decodeSymbol(lit, &r)
            if sym < 256 {
                if n >= capacity {
                    count = n
                    try reserve(n + 1)
                    out = output
                }
                out[n] = UInt8(truncatingIfNeeded: sym)
                n += 1
                continue
            }
            if sym == 256 { return }
            guard sym < 286 else { throw Inflate.Failure(reason: "invalid length symbol") }
            let lc = lengthCodes[sym - 257]
            let len = lc & 0xFFFF + (try r.bits(lc >> 16))
            let ds = try decodeSymbol(dist, &r)
            guard ds < 30 else { throw Inflate.Failure(reason: "invalid distance symbol") }
            let dc = distanceCodes[ds]
            let d = dc & 0xFFFF + (try r.bits(dc >> 16))
            guard d <= n - streamStart else { throw Inflate.Failure(reason: "distance too far back") }
            if n + len > capacity {
                count = n
                try reserve(n + len)
                out = output
            }
            let dst = out + n, src = out + (n - d)
            if d >= len {
                dst.update(from: src, count: len)
            } else if d == 1 {
                dst.update(repeating: src[0], count: len)
            } else {
                for k in 0..<len { dst[k] = src[k] }
            }
            n += len
        }
    }

    private static let fixed: (literals: HuffmanTable, distances: HuffmanTable) = {
        var l = [UInt8](repeating: 8, count: 288)
        for i in 144..<256 { l[i] = 9 }
        for i in 256..<280 { l[i] = 7 }
        let lit = HuffmanTable(), dist = HuffmanTable()
        // Both are complete canonical codes from RFC 1951 3.2.6, so building cannot fail.
        try! l.withUnsafeBufferPointer { try lit.build(lengths: $0.baseAddress!, count: 288) }
        let five = [UInt8](repeating: 5, count: 30)
        try! five.withUnsafeBufferPointer { try dist.build(lengths: $0.baseAddress!, count: 30) }
        return (lit, dist)
    }()
}
