#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TweedieCore

extension PNGImage {
    /// The complete PNG stream for this image with `text` entries as tEXt (Latin-1 values) or iTXt chunks.
    /// `name` only labels error messages.
    public func encoded(text: [(key: String, value: String)] = [], name: String = "<memory>") throws -> [UInt8] {
        let chunks = try text.map { try PNGText.chunk(key: $0.key, value: $0.value, name: name) }
        return try PNGChunks.inserting(chunks, into: try PNGCodec.encode(self), name: name)
    }

    /// Decodes a PNG stream: the pixels and every tEXt/zTXt/iTXt entry in stream order.
    /// Corrupt or truncated data throws `TweedieError.badInput` naming `name`.
    public static func decode(_ bytes: [UInt8], name: String = "<memory>") throws
        -> (image: PNGImage, text: [(key: String, value: String)]) {
        let chunks = try PNGChunks.walk(bytes, name: name)
        let text = try PNGText.entries(in: bytes, chunks: chunks, name: name)
        return (try PNGCodec.decode(bytes, name: name), text)
    }

    /// Writes the image with `text` chunks to `path`, atomically: the bytes go to a temporary file in the same
    /// directory that is renamed over `path`, so a failure leaves neither a partial file nor a stray temporary.
    public func write(to path: String, text: [(key: String, value: String)] = []) throws {
        let bytes = try encoded(text: text, name: path)
        try FileIO.writeAtomically(bytes, to: path)
    }

    /// Reads a PNG file: pixels as 8-bit samples (see `PNGImage.decode`) and all text entries.
    /// Missing, unreadable, truncated or corrupt files throw `TweedieError.badInput` naming `path`.
    public static func read(path: String) throws -> (image: PNGImage, text: [(key: String, value: String)]) {
        try decode(try readFile(path), name: path)
    }
}

/// The first value stored under `key` in a list of text entries, as read by `PNGImage.read`.
public func textValue(_ key: String, in entries: [(key: String, value: String)]) -> String? {
    entries.first(where: { $0.key == key })?.value
}

/// Atomic whole-file writes with errors naming the path.
enum FileIO {
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty else { throw TweedieError.badInput("\(path): output path names a directory") }
        var fd: Int32 = -1
        var temp = ""
        for attempt in 0..<100 {
            temp = OutputFile.temporaryPath(for: path)
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if fd >= 0 || errno != EEXIST || attempt == 99 { break }
        }
        guard fd >= 0 else { throw TweedieError.badInput("\(path): cannot create output (\(errnoText()))") }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "write failed (\(errnoText()))"
                    return
                }
                done += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = "fsync failed (\(errnoText()))" }
        if close(fd) != 0 && failure == nil { failure = "close failed (\(errnoText()))" }
        if failure == nil && rename(temp, path) != 0 { failure = "cannot replace file (\(errnoText()))" }
        if let failure {
            unlink(temp)
            throw TweedieError.badInput("\(path): \(failure)")
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
