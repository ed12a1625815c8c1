import Foundation
import TweedieCore
import TweedieImaging

/// What one shard of a large job made: the indices it was given, the settings and weights every shard of the job
/// must share, and per finished index its seed, class and output files with their SHA-256. `tweedie generate
/// --manifest` and `tweedie reconstruct --inputs` write it after every finished chunk (under a temporary name, then
/// renamed, so a reader never sees half a file); a re-run reads it back and skips the indices whose files still
/// verify; `tweedie merge` checks a job's manifests against each other and the files.
public struct ShardManifest: Codable, Equatable, Sendable {
    /// The value of `format` this engine writes and reads.
    public static let formatName = "tweedie-shard-v1"

    /// One output file of an index, its path relative to the manifest's folder.
    public struct File: Codable, Equatable, Sendable {
        /// What the file is: image (generate); reconstruction, baseline, error_map or report (reconstruct).
        public var role: String
        /// Path relative to the folder holding the manifest.
        public var path: String
        /// Lower-case hex SHA-256 of the file's bytes.
        public var sha256: String

        /// A file record.
        public init(role: String, path: String, sha256: String) { (self.role, self.path, self.sha256) = (role, path, sha256) }
    }

    /// One finished index.
    public struct Entry: Codable, Equatable, Sendable {
        /// Global index in the job (image index of generate, input position of reconstruct).
        public var index: Int
        /// The seed the index was made with.
        public var seed: UInt64
        /// The class it was sampled as (nil: unconditional, or reconstruct).
        public var classID: Int?
        /// The input it was made from (reconstruct: the input file's name), if any.
        public var input: String?
        /// SHA-256 of that input, if any.
        public var inputSHA256: String?
        /// Numbers measured on the output (reconstruct: psnr, ssim), if any.
        public var metrics: [String: Double]?
        /// Its output files.
        public var files: [File]

        enum CodingKeys: String, CodingKey {
            case index, seed, classID = "class", input, inputSHA256 = "input_sha256", metrics, files
        }

        /// An entry.
        public init(index: Int, seed: UInt64, classID: Int? = nil, input: String? = nil, inputSHA256: String? = nil,
                    metrics: [String: Double]? = nil, files: [File]) {
            (self.index, self.seed, self.classID, self.input) = (index, seed, classID, input)
            (self.inputSHA256, self.metrics, self.files) = (inputSHA256, metrics, files)
        }
    }

    /// Always `formatName`.
    public var format = ShardManifest.formatName
    /// "generate" or "reconstruct".
    public var kind: String
    /// The engine that wrote it (`EngineVersion.string`).
    public var engine = EngineVersion.string
    /// SHA-256 of the model's weights.
    public var weightsSHA256: String
    /// Every setting the shards of one job must share, as text (e.g. "seed": "42", "sampler": "euler_a").
    public var settings: [String: String]
    /// First index of this shard and how many it covers.
    public var first: Int
    public var count: Int
    /// Indices of the whole job (0..<total), when known.
    public var total: Int?
    /// True once every index of the shard has its entry.
    public var complete = false
    /// The finished indices, sorted.
    public var entries: [Entry] = []

    enum CodingKeys: String, CodingKey {
        case format, kind, engine, weightsSHA256 = "weights_sha256", settings, first, count, total, complete, entries
    }

    /// A manifest with no finished index yet.
    public init(kind: String, weightsSHA256: String, settings: [String: String], first: Int, count: Int, total: Int?) {
        (self.kind, self.weightsSHA256, self.settings) = (kind, weightsSHA256, settings)
        (self.first, self.count, self.total) = (first, count, total)
    }

    /// The indices the shard covers.
    public var indices: Range<Int> { first..<(first + count) }

    /// Reads the manifest at `path`; an unreadable file or another format is `badInput` naming it.
    public static func read(path: String) throws -> ShardManifest {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TweedieError.badInput("\(path): cannot read the shard manifest")
        }
        let manifest: ShardManifest
        do { manifest = try JSONDecoder().decode(ShardManifest.self, from: data) } catch {
            throw TweedieError.badInput("\(path): not a shard manifest (\(Self.decodingFailure(error)))")
        }
        guard manifest.format == formatName else {
            throw TweedieError.badInput("\(path): format \(manifest.format), this engine reads \(formatName)")
        }
        return manifest
    }

    /// Writes the manifest to `path` atomically: a temporary file beside it, flushed, then renamed over it.
    public func write(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var sorted = self
        sorted.entries.sort { $0.index < $1.index }
        let staged = StagedOutputs()
        try staged.stage(Array(try encoder.encode(sorted)) + [0x0A], for: path)
        try staged.commit()
    }

    /// The path of `file` as stored in a manifest at `manifestPath`: relative to the manifest's folder.
    public static func relativePath(of file: String, manifestAt manifestPath: String) -> String {
        let base = absolute(directory(of: manifestPath)).split(separator: "/").map(String.init)
        let target = absolute(file).split(separator: "/").map(String.init)
        var common = 0
        while common < min(base.count, target.count), base[common] == target[common] { common += 1 }
        let ups = Array(repeating: "..", count: base.count - common)
        return (ups + target[common...]).joined(separator: "/")
    }

    /// The file a manifest at `manifestPath` names with `relative`.
    public static func resolve(_ relative: String, manifestAt manifestPath: String) -> String {
        if relative.hasPrefix("/") { return relative }
        var parts: [Substring] = []
        for part in (directory(of: manifestPath) + "/" + relative).split(separator: "/", omittingEmptySubsequences: false) {
            if part == "..", let last = parts.last, last != "..", last != "." , !last.isEmpty { parts.removeLast() } else { parts.append(part) }
        }
        let joined = parts.joined(separator: "/")
        return joined.hasPrefix("./") ? String(joined.dropFirst(2)) : joined
    }

    /// Why `entry`'s files do not verify against a manifest at `manifestPath` (nil when every file exists and
    /// has its recorded SHA-256).
    public static func problem(with entry: Entry, manifestAt manifestPath: String) -> String? {
        for file in entry.files {
            let path = resolve(file.path, manifestAt: manifestPath)
            guard FileManager.default.fileExists(atPath: path) else { return "\(path) is missing" }
            guard let sha = try? SHA256.hex(fileAt: path) else { return "\(path) cannot be read" }
            if sha != file.sha256 {
                return "\(path) has sha256 \(sha.prefix(12)), the manifest records \(file.sha256.prefix(12))"
            }
        }
        return nil
    }

    /// The first setting in which `other` differs from this manifest, as "key A vs B" (nil: the same job). The
    /// kind, engine and weights count as settings here.
    public func difference(from other: ShardManifest) -> (key: String, mine: String, theirs: String)? {
        if kind != other.kind { return ("kind", kind, other.kind) }
        if weightsSHA256 != other.weightsSHA256 {
            return ("weights sha256", String(weightsSHA256.prefix(12)), String(other.weightsSHA256.prefix(12)))
        }
        if engine != other.engine { return ("engine", engine, other.engine) }
        for key in Set(settings.keys).union(other.settings.keys).sorted() where settings[key] != other.settings[key] {
            return (key, settings[key] ?? "(unset)", other.settings[key] ?? "(unset)")
        }
        if total != other.total { return ("total", total.map(String.init) ?? "(unset)", other.total.map(String.init) ?? "(unset)") }
        return nil
    }

    /// Settings as text: each value of `object` (a JSON object) as itself when a string, else as compact JSON.
    public static func settingsText(_ object: [String: Any]) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in object {
            if let s = value as? String { out[key] = s; continue }
            if value is NSNull { continue }
            let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .withoutEscapingSlashes])
            let text = data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
            out[key] = String(text.dropFirst().dropLast())
        }
        return out
    }

    private static func directory(of path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        return dir.isEmpty ? "." : dir
    }

    private static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (full as NSString).standardizingPath
    }

    private static func decodingFailure(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "field \(c.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case DecodingError.dataCorrupted(let c) where !c.codingPath.isEmpty:
            return "field \(c.codingPath.map(\.stringValue).joined(separator: ".")) is invalid"
        default: return "not valid JSON"
        }
    }
}
