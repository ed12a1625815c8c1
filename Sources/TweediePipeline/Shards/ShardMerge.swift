import Foundation
import TweedieCore

/// The checked union of a job's shard manifests (`tweedie merge`): every manifest complete, all made with the same
/// kind, engine, weights and settings, every index of the job exactly once, every file matching its SHA-256. The
/// first failure is a `badInput` error naming the manifest, index, setting or file.
public struct ShardMerge {
    /// One index of the job with the manifest that holds it.
    public struct Item {
        /// The entry as its manifest records it (file paths relative to that manifest).
        public let entry: ShardManifest.Entry
        /// Path of the manifest.
        public let manifestPath: String

        /// Path of the entry's file `file`, usable from the working directory.
        public func path(of file: ShardManifest.File) -> String {
            ShardManifest.resolve(file.path, manifestAt: manifestPath)
        }
    }

    /// The manifests merged, with their paths, in the order read.
    public let manifests: [(path: String, manifest: ShardManifest)]
    /// Every index of the job, sorted.
    public let items: [Item]

    /// The job's shared description (the first manifest's).
    public var reference: ShardManifest { manifests[0].manifest }

    /// The shard manifests among `paths`: a file is taken as given; a folder contributes the .json files directly
    /// inside it that are shard manifests (other JSON, such as reports or a merged file, is passed over).
    public static func manifestPaths(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw TweedieError.badInput("merge: \(path) not found")
            }
            guard isDirectory.boolValue else { out.append(path); continue }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
                .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
            let found = names.map { (path as NSString).appendingPathComponent($0) }.filter(isShardManifest)
            guard !found.isEmpty else { throw TweedieError.badInput("merge: \(path) holds no shard manifest") }
            out += found
        }
        return out
    }

    /// Reads and checks the manifests at `paths` (files or folders, see `manifestPaths`). `expectedTotal` (merge
    /// --expect) overrides the job size the manifests record; without either, the job is 0...the largest index.
    public init(paths: [String], expectedTotal: Int? = nil, verifyFiles: Bool = true) throws {
        let files = try Self.manifestPaths(paths)
        var seen: [String: String] = [:]
        var manifests: [(path: String, manifest: ShardManifest)] = []
        for file in files {
            let key = (file as NSString).standardizingPath
            if let first = seen[key] { throw TweedieError.badInput("merge: \(file) is given twice (also as \(first))") }
            seen[key] = file
            manifests.append((file, try ShardManifest.read(path: file)))
        }
        let (refPath, ref) = manifests[0]
        for (path, m) in manifests {
            if let missing = m.indices.first(where: { i in !m.entries.contains { $0.index == i } }) {
                throw TweedieError.badInput("merge: \(path) is unfinished: index \(missing) has no entry (re-run that shard)")
            }
            if let d = ref.difference(from: m) {
                throw TweedieError.badInput("merge: \(path) was made with \(d.key) \(d.theirs), \(refPath) with \(d.mine)")
            }
        }
        var byIndex: [Int: Item] = [:]
        for (path, m) in manifests {
            for entry in m.entries {
                if let other = byIndex[entry.index] {
                    throw TweedieError.badInput("merge: index \(entry.index) appears twice: in \(other.manifestPath) and in \(path)")
                }
                if !m.indices.contains(entry.index) {
                    throw TweedieError.badInput("merge: \(path): index \(entry.index) lies outside the shard's "
                                                + "\(m.first)..<\(m.first + m.count)")
                }
                byIndex[entry.index] = Item(entry: entry, manifestPath: path)
            }
        }
        if let t = expectedTotal, let recorded = ref.total, t != recorded {
            throw TweedieError.badInput("merge: --expect \(t), but the shards record a job of \(recorded) indices")
        }
        let total = expectedTotal ?? ref.total ?? ((byIndex.keys.max() ?? -1) + 1)
        if let outside = byIndex.keys.sorted().first(where: { $0 < 0 || $0 >= total }) {
            throw TweedieError.badInput("merge: index \(outside) in \(byIndex[outside]!.manifestPath) lies outside the job's 0..<\(total)")
        }
        let missing = (0..<total).filter { byIndex[$0] == nil }
        if missing.count == 1 {
            throw TweedieError.badInput("merge: index \(missing[0]) of 0..<\(total) is missing: no shard holds it")
        } else if !missing.isEmpty {
            throw TweedieError.badInput("merge: indices \(Self.describe(missing)) of 0..<\(total) are missing: no shard holds them")
        }
        let items = (0..<total).map { byIndex[$0]! }
        if ref.kind == "generate", let seed = ref.settings["seed"].flatMap(UInt64.init) {
            for item in items where item.entry.seed != seed + UInt64(item.entry.index) {
                throw TweedieError.badInput("merge: \(item.manifestPath): index \(item.entry.index) has seed "
                                            + "\(item.entry.seed), the job's seed \(seed) gives \(seed + UInt64(item.entry.index))")
            }
        }
        if verifyFiles {
            for item in items {
                if let why = ShardManifest.problem(with: item.entry, manifestAt: item.manifestPath) {
                    throw TweedieError.badInput("merge: index \(item.entry.index) (\(item.manifestPath)): \(why)")
                }
            }
        }
        self.manifests = manifests
        self.items = items
    }

    /// The merged description: the job's settings, the shards and every index with its files (paths relative to
    /// the folder of `outPath`), plus `summary`.
    public func document(outPath: String, summary: JSONOutput?) -> JSONOutput {
        let ref = reference
        let entries: [JSONOutput] = items.map { item in
            var o: [String: JSONOutput] = [
                "index": .int(item.entry.index), "seed": .int(Int(item.entry.seed)),
                "files": .array(item.entry.files.map { f in
                    .object(["role": .string(f.role), "sha256": .string(f.sha256),
                             "path": .string(ShardManifest.relativePath(of: item.path(of: f), manifestAt: outPath))])
                }),
            ]
            if let c = item.entry.classID { o["class"] = .int(c) }
            if let i = item.entry.input { o["input"] = .string(i) }
            if let s = item.entry.inputSHA256 { o["input_sha256"] = .string(s) }
            if let m = item.entry.metrics { o["metrics"] = .object(m.mapValues { .number($0) }) }
            return .object(o)
        }
        var doc: [String: JSONOutput] = [
            "format": .string("tweedie-merge-v1"), "kind": .string(ref.kind), "engine": .string(ref.engine),
            "weights_sha256": .string(ref.weightsSHA256), "settings": .object(ref.settings.mapValues { .string($0) }),
            "total": .int(items.count),
            "shards": .array(manifests.map { .string(ShardManifest.relativePath(of: $0.path, manifestAt: outPath)) }),
            "entries": .array(entries),
        ]
        if let summary { doc["summary"] = summary }
        return .object(doc)
    }

    /// Whether the JSON file at `path` is a shard manifest (its "format" field), without decoding the rest.
    static func isShardManifest(_ path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["format"] as? String == ShardManifest.formatName
    }

    /// "3, 5-7, 9" for up to a few runs of indices.
    static func describe(_ indices: [Int]) -> String {
        let runs = ShardProgress.runs(of: indices, chunk: .max)
        let text = runs.prefix(4).map { $0.count == 1 ? "\($0.first)" : "\($0.first)-\($0.first + $0.count - 1)" }
        return text.joined(separator: ", ") + (runs.count > 4 ? ", ..." : "")
    }
}
