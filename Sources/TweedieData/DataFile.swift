import Foundation
import TweedieCore

/// Whole-file reads for the offline data sets: gzip files are decompressed transparently, a missing file names the
/// Debian package that provides it, and every failure is a one-line `TweedieError.badInput` naming the path.
public enum DataFile {
    /// Largest decompressed size accepted (guards against gzip bombs; the largest data set file is 47 MB).
    public static let decompressedLimit = 1 << 31

    /// The bytes of `path`, gunzipped when they start with the gzip magic. `package` is the apt package named when
    /// the file is absent (nil: a plain "not found").
    public static func read(_ path: String, package: String?) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            if let package { throw DatasetError.missing(path, package: package) }
            throw TweedieError.badInput("\(path): not found")
        }
        return try decode(try readFile(path), path: path)
    }

    /// `bytes` gunzipped when they start with the gzip magic, else unchanged; `path` only names the source in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        guard bytes.withUnsafeBytes({ Gzip.hasMagic($0) }) else { return bytes }
        do {
            return try Gzip.decompress(bytes, limit: decompressedLimit)
        } catch let failure as Inflate.Failure {
            throw TweedieError.badInput("\(path): \(failure.reason)")
        }
    }
}
