import TweedieCore

/// An IDX file (the MNIST family's container): a 4-byte magic `00 00 <dtype> <ndims>`, `ndims` big-endian UInt32
/// dimensions, then the elements row-major. Only dtype 0x08 (unsigned byte) is supported, which is what image and
/// label files use; the element count must match the dimensions exactly.
public struct IDXFile: Equatable {
    /// Dimensions, outermost first (e.g. [10000, 28, 28]).
    public let dimensions: [Int]
    /// The unsigned-byte elements, row-major.
    public let values: [UInt8]

    /// Reads `path` (gzip or plain); `package` names the apt package when the file is absent.
    public static func read(_ path: String, package: String? = nil) throws -> IDXFile {
        try IDXFile(bytes: DataFile.read(path, package: package), path: path)
    }

    /// Parses decompressed IDX bytes; `path` names the source in errors.
    public init(bytes: [UInt8], path: String) throws {
        func bad(_ field: String, _ what: String) -> TweedieError { .badInput("\(path): IDX \(field): \(what)") }
        guard bytes.count >= 4 else { throw bad("magic", "file has \(bytes.count) bytes, header needs 4") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw bad("magic", "first two bytes are \(bytes[0]), \(bytes[1]); expected 0, 0")
        }
        guard bytes[2] == 0x08 else {
            throw bad("dtype", "0x\(String(bytes[2], radix: 16)) unsupported (only 0x08, unsigned byte)")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw bad("ndims", "is 0") }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw bad("dimensions", "header declares \(rank) dimensions but the file has only \(bytes.count) bytes")
        }
        var dims: [Int] = []
        var total = 1
        for k in 0..<rank {
            let p = 4 + 4 * k
            let d = Int(bytes[p]) << 24 | Int(bytes[p + 1]) << 16 | Int(bytes[p + 2]) << 8 | Int(bytes[p + 3])
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, product <= bytes.count else {
                throw bad("dimension \(k)", "\(d) makes the element count exceed the file size \(bytes.count)")
            }
            dims.append(d)
            total = product
        }
        let payload = bytes.count - headerSize
        guard payload == total else {
            throw bad("data", payload < total
                      ? "truncated: dimensions \(dims) need \(total) bytes, found \(payload)"
                      : "\(payload - total) trailing bytes after \(total) elements of dimensions \(dims)")
        }
        dimensions = dims
        values = Array(bytes[headerSize...])
    }
}
