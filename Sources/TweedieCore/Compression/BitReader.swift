/// LSB-first bit reader over a byte buffer for DEFLATE, refilled eight bytes at a time.
///
/// Refill ORs a little-endian 64-bit load in above the buffered bits and advances only by whole bytes that fit;
/// the bits above `count` then already hold the next input bytes, so the following refill ORs identical values
/// (the branch-free scheme of F. Giesen's "Reading bits in far too many ways", variant 4).
struct BitReader {
    let base: UnsafePointer<UInt8>
    let end: Int
    /// Next input byte not yet in `buffer`.
    var position: Int
    var buffer: UInt64 = 0
    /// Number of valid low bits in `buffer`.
    var count = 0

    init(base: UnsafePointer<UInt8>, end: Int, position: Int) {
        self.base = base
        self.end = end
        self.position = position
    }

    /// Tops the buffer up to at least 56 bits while input lasts.
    @inline(__always) mutating func refill() {
        if position + 8 <= end {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            buffer |= word << UInt64(count)
            position += (63 - count) >> 3
            count |= 56
        } else {
            while count <= 56 && position < end {
                buffer |= UInt64(base[position]) << UInt64(count)
                position += 1
                count += 8
            }
        }
    }

    @inline(__always) mutating func consume(_ n: Int) {
        buffer >>= UInt64(n)
        count -= n
    }

    /// The next `n` (<= 32) bits as an integer.
    @inline(__always) mutating func bits(_ n: Int) throws -> Int {
        if count < n {
            refill()
            if count < n { throw Inflate.Failure(reason: "deflate stream truncated") }
        }
        let v = Int(buffer & ((1 << UInt64(n)) - 1))
        consume(n)
        return v
    }

    /// Drops the rest of the current byte and hands back whole buffered bytes, so `position` is the next unread byte.
    mutating func alignToByte() {
        position -= count >> 3
        buffer = 0
        count = 0
    }
}
