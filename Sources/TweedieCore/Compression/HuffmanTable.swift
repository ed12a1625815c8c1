/// A canonical DEFLATE Huffman code prepared for table-driven decoding.
///
/// Codes of up to `fastBits` bits resolve with one lookup on the next `fastBits` input bits (DEFLATE packs codes
/// most-significant bit first into an LSB-first stream, so the table is indexed by bit-reversed codes). Longer codes,
/// which belong to rare symbols, fall back to puff's canonical bit-by-bit walk over `counts` and `symbols`.
final class HuffmanTable: @unchecked Sendable {
    static let fastBits = 10
    static let fastMask: UInt64 = (1 << UInt64(fastBits)) - 1

    /// Entry = symbol << 4 | code length; 0 means "longer than fastBits or not a valid code".
    let fast: UnsafeMutablePointer<UInt16>
    /// Number of codes of each length 0...15.
    let counts: UnsafeMutablePointer<Int>
    /// Symbols ordered by (length, code), as canonical decoding needs.
    let symbols: UnsafeMutablePointer<Int>
    static let maxSymbols = 320

    init() {
        fast = .allocate(capacity: 1 << HuffmanTable.fastBits)
        counts = .allocate(capacity: 16)
        symbols = .allocate(capacity: HuffmanTable.maxSymbols)
        fast.initialize(repeating: 0, count: 1 << HuffmanTable.fastBits)
        counts.initialize(repeating: 0, count: 16)
        symbols.initialize(repeating: 0, count: HuffmanTable.maxSymbols)
    }

    deinit {
        fast.deallocate()
        counts.deallocate()
        symbols.deallocate()
    }

    /// Rebuilds the table from code lengths (0 = unused symbol). Over-subscribed codes are rejected; incomplete
    /// codes are accepted (a lone distance code is legal) and their unused bit patterns decode as errors.
    func build(lengths: UnsafePointer<UInt8>, count n: Int) throws {
        precondition(n <= HuffmanTable.maxSymbols)
        for l in 0..<16 { counts[l] = 0 }
        for s in 0..<n { counts[Int(lengths[s])] += 1 }
        counts[0] = 0
        var left = 1
        for len in 1..<16 {
            left = (left << 1) - counts[len]
            if left < 0 { throw Inflate.Failure(reason: "over-subscribed Huffman code") }
        }
        var offsets = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var nextCode = offsets
        withUnsafeMutableBytes(of: &offsets) { raw in
            let off = raw.bindMemory(to: Int.self)
            for len in 1..<15 { off[len + 1] = off[len] + counts[len] }
            for s in 0..<n where lengths[s] != 0 {
                symbols[off[Int(lengths[s])]] = s
                off[Int(lengths[s])] += 1
            }
        }
        let size = 1 << HuffmanTable.fastBits
        fast.update(repeating: 0, count: size)
        withUnsafeMutableBytes(of: &nextCode) { raw in
            let next = raw.bindMemory(to: Int.self)
            // RFC 1951 3.2.2: the first code of length L is (first(L-1) + count(L-1)) << 1, with count(0) = 0.
            var code = 0
            for len in 1..<16 {
                code = (code + counts[len - 1]) << 1
                next[len] = code
            }
            for s in 0..<n {
                let len = Int(lengths[s])
                guard len != 0 else { continue }
                let code = next[len]
                next[len] += 1
                guard len <= HuffmanTable.fastBits else { continue }
                var reversed = 0
                var v = code
                for _ in 0..<len { reversed = reversed << 1 | (v & 1); v >>= 1 }
                let entry = UInt16(s << 4 | len)
                var i = reversed
                while i < size { fast[i] = entry; i += 1 << len }
            }
        }
    }

    /// Decodes a code longer than `fastBits` (or reports an invalid one) from the low bits of `bits`, of which
    /// `available` are real input. Returns (symbol, length).
    func slowDecode(_ bits: UInt64, available: Int) throws -> (Int, Int) {
        var code = 0, first = 0, index = 0
        for len in 1..<16 {
            guard len <= available else { throw Inflate.Failure(reason: "deflate stream truncated") }
            code |= Int((bits >> UInt64(len - 1)) & 1)
            let count = counts[len]
            if code - first < count { return (symbols[index + code - first], len) }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw Inflate.Failure(reason: "invalid Huffman code")
    }
}
