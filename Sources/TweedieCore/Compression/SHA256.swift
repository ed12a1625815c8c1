import Crypto

/// SHA-256 hex digests of files and byte buffers (swift-crypto): the weights hash recorded in image metadata
/// (A1111 shows its first 10 hex digits as "Model hash") and a latent run's autoencoder fingerprint.
public enum SHA256 {
    /// Lower-case hex digest of `bytes`.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var hasher = Crypto.SHA256()
        hasher.update(bufferPointer: bytes)
        return hex(hasher.finalize())
    }

    /// Lower-case hex digest of a byte array.
    public static func hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { hex($0) } }

    /// Lower-case hex digest of the file at `path`, read in 1 MiB chunks; unreadable files are `badInput`.
    public static func hex(fileAt path: String) throws -> String {
        var hasher = Crypto.SHA256()
        try readFile(path, chunkSize: 1 << 20) { hasher.update(bufferPointer: $0) }
        return hex(hasher.finalize())
    }

    private static func hex(_ digest: Crypto.SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
