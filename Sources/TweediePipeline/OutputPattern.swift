import Foundation
import TweedieCore

/// An output path with an optional printf-style integer directive for the image index, e.g. "out/img_%03d.png".
/// Supported: %d, %Nd, %0Nd and %%. A pattern without a directive names the single image of a one-image run;
/// for more images "_<index>" goes before the extension.
public struct OutputPattern: Sendable {
    /// The pattern as given.
    public let pattern: String
    private enum Piece { case text(String), index(width: Int, zeroPad: Bool) }
    private let pieces: [Piece]

    /// Parses `pattern`; other directives are `badInput` naming `flag`.
    public init(_ pattern: String, flag: String = "-o") throws {
        self.pattern = pattern
        var pieces: [Piece] = []
        var text = ""
        var chars = Array(pattern)[...]
        while let c = chars.popFirst() {
            guard c == "%" else { text.append(c); continue }
            if chars.first == "%" { chars.removeFirst(); text.append("%"); continue }
            var spec = ""
            while let d = chars.first, d.isNumber { spec.append(d); chars.removeFirst() }
            guard chars.popFirst() == "d" else {
                throw TweedieError.badInput("\(flag) \(pattern): only %d, %Nd, %0Nd and %% are supported")
            }
            if !text.isEmpty { pieces.append(.text(text)); text = "" }
            // Parsed without overflow: a width of 2000000000 must fail here, not pad a path forever.
            let width = spec.count > 4 ? Int.max : Int(spec) ?? 0
            guard width <= ResourceLimits.maxPadWidth else {
                throw TweedieError.badInput("\(flag) \(pattern): pad width %\(spec)d exceeds the limit of "
                                            + "\(ResourceLimits.maxPadWidth)")
            }
            pieces.append(.index(width: width, zeroPad: spec.hasPrefix("0")))
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        let last = pattern.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard !pattern.isEmpty, !pattern.hasSuffix("/"), last != ".", last != ".." else {
            throw TweedieError.badInput("\(flag) \(pattern): names a directory, not a file")
        }
        self.pieces = pieces
    }

    /// Whether the pattern numbers its files.
    public var hasIndex: Bool { pieces.contains { if case .index = $0 { return true } else { return false } } }

    /// The path of image `index` in a run of `count` images.
    public func path(index: Int, count: Int) -> String {
        guard hasIndex else {
            guard count > 1 else { return pattern }
            let ext = (pattern as NSString).pathExtension
            let stem = ext.isEmpty ? pattern : String(pattern.dropLast(ext.count + 1))
            return "\(stem)_\(index)" + (ext.isEmpty ? "" : ".\(ext)")
        }
        return pieces.map { piece -> String in
            switch piece {
            case .text(let t): return t
            case .index(let width, let zero):
                let digits = String(index)
                return digits.count >= width ? digits
                    : String(repeating: zero ? "0" : " ", count: width - digits.count) + digits
            }
        }.joined()
    }

    /// Fails with `badInput` naming `flag` unless a file can be created at `path` (its directory exists and is
    /// writable, the path is not a directory, and the file name and its temporary twin fit the file system's
    /// limits), so a run stops before sampling rather than after.
    public static func checkWritable(_ path: String, flag: String) throws {
        let (directory, name) = split(path)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw TweedieError.badInput("\(flag) \(path): names a directory, not a file")
        }
        guard name.utf8.count <= ResourceLimits.maxNameBytes else {
            throw TweedieError.badInput("\(flag) \(path): file name is \(name.utf8.count) bytes, longer than the "
                                        + "file system's limit of \(ResourceLimits.maxNameBytes)")
        }
        guard path.utf8.count <= ResourceLimits.maxPathBytes else {
            throw TweedieError.badInput("\(flag): path is \(path.utf8.count) bytes, longer than the limit of "
                                        + "\(ResourceLimits.maxPathBytes)")
        }
        guard isDirectory(directory) else {
            throw TweedieError.badInput("\(flag) \(path): directory \(directory) does not exist")
        }
        guard access(directory, W_OK) == 0 else {
            throw TweedieError.badInput("\(flag) \(path): directory \(directory) is not writable")
        }
        guard !isDirectory(path) else { throw TweedieError.badInput("\(flag) \(path): is a directory") }
        if FileManager.default.fileExists(atPath: path) && access(path, W_OK) != 0 {
            throw TweedieError.badInput("\(flag) \(path): file is not writable")
        }
    }

    /// Directory ("." when none) and last component of `path`, split at the last "/" without Foundation's path
    /// normalisation.
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// A key under which two spellings of one output file compare equal: the directory resolved (symbolic links,
    /// "..", ".") plus the file name.
    public static func identity(_ path: String) -> String {
        let (directory, name) = split(path)
        guard let resolved = realpath(directory, nil) else { return directory + "/" + name }
        defer { free(resolved) }
        return String(cString: resolved) + "/" + name
    }
}
