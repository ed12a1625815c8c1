/// DEFLATE (RFC 1951) decompression with the zlib (RFC 1950) wrapper; `Gzip` adds the RFC 1952 wrapper.
/// The engine links libpng but not zlib, so this is Swift: table-driven Huffman decoding into a growing
/// preallocated buffer (see `InflateDecoder`), used by PNG text chunks and by the gzip-compressed data sets.
public enum Inflate {
    /// Why a stream could not be decoded, in a few words (callers prefix the file name).
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// Decompresses a zlib stream, refusing to produce more than `limit` bytes (guards against bombs).
    public static func zlib(_ input: ArraySlice<UInt8>, limit: Int) throws -> [UInt8] {
        try input.withUnsafeBufferPointer { bytes in
            guard bytes.count >= 6, let base = bytes.baseAddress else {
                throw Failure(reason: "zlib stream too short")
            }
            let cmf = Int(bytes[0]), flg = Int(bytes[1])
            guard cmf & 0x0F == 8, cmf >> 4 <= 7, (cmf * 256 + flg) % 31 == 0 else {
                throw Failure(reason: "bad zlib header")
            }
            guard flg & 0x20 == 0 else { throw Failure(reason: "zlib preset dictionary not supported") }
            let decoder = InflateDecoder(limit: limit, capacityHint: min(limit, bytes.count * 4))
            let p = try decoder.inflate(base, end: bytes.count, from: 2)
            // The Adler-32 trailer starts at the next byte boundary after the final block.
            guard p + 4 <= bytes.count else { throw Failure(reason: "zlib stream truncated before checksum") }
            let stored = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[p + $1]) }
            guard stored == Checksum.adler32(UnsafeRawBufferPointer(decoder.output(from: 0))) else {
                throw Failure(reason: "zlib checksum mismatch")
            }
            return decoder.takeArray()
        }
    }

    /// Decompresses a raw DEFLATE stream; returns the output and how many input bytes the stream occupied
    /// (through the end of its final block's last byte).
    public static func raw(_ input: UnsafeRawBufferPointer, limit: Int = .max,
                           capacityHint: Int = 0) throws -> (output: [UInt8], consumed: Int) {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw Failure(reason: "deflate stream truncated")
        }
        let decoder = InflateDecoder(limit: limit, capacityHint: min(limit, max(capacityHint, input.count * 4)))
        let end = try decoder.inflate(base, end: input.count, from: 0)
        return (decoder.takeArray(), end)
    }
}
