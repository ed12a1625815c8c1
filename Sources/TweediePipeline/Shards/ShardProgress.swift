import Foundation
import TweedieCore

/// A shard's manifest while the shard runs. Opening it reads what an earlier run of the same shard left at the
/// path, keeps the entries whose files still verify (they are skipped) and drops the others (they are redone); each
/// `record` then rewrites the manifest atomically, so a crash loses at most the chunk in flight, and `finish` marks
/// it complete. A manifest of another job at the path (other settings, weights or indices) is refused, not mixed in.
public final class ShardProgress {
    /// Where the manifest lives.
    public let path: String
    /// The manifest as written so far.
    public private(set) var manifest: ShardManifest
    /// Indices an earlier run finished and whose files verified.
    public let skipped: [Int]
    /// One line per index an earlier run had finished but whose files no longer verify (it is redone).
    public let redone: [String]

    /// Opens the manifest at `path` for a shard described by `template` (its settings, weights and indices; no
    /// entries). `flag` names the option in errors.
    public init(path: String, template: ShardManifest, flag: String = "--manifest") throws {
        self.path = path
        var manifest = template
        var skipped: [Int] = [], redone: [String] = []
        if FileManager.default.fileExists(atPath: path) {
            let old: ShardManifest
            do { old = try ShardManifest.read(path: path) } catch let e as TweedieError {
                throw TweedieError.badInput("\(flag) \(e.message); remove it or give another \(flag)")
            }
            if let d = old.difference(from: template) {
                throw TweedieError.badInput("\(flag) \(path): written by a run with \(d.key) \(d.mine), this run has "
                                            + "\(d.key) \(d.theirs); remove it or give another \(flag)")
            }
            guard old.first == template.first, old.count == template.count else {
                throw TweedieError.badInput("\(flag) \(path): written for indices \(old.first)..<\(old.first + old.count), "
                                            + "this run covers \(template.first)..<\(template.first + template.count); "
                                            + "remove it or give another \(flag)")
            }
            for entry in old.entries where template.indices.contains(entry.index) {
                if let why = ShardManifest.problem(with: entry, manifestAt: path) {
                    redone.append("index \(entry.index): \(why); making it again")
                } else if !skipped.contains(entry.index) {
                    manifest.entries.append(entry)
                    skipped.append(entry.index)
                }
            }
        }
        self.manifest = manifest
        self.skipped = skipped.sorted()
        self.redone = redone
        try manifest.write(path: path)
    }

    /// Whether `index` is already finished.
    public func isDone(_ index: Int) -> Bool { manifest.entries.contains { $0.index == index } }

    /// The shard's indices not finished yet, in order.
    public var missing: [Int] {
        let done = Set(manifest.entries.map(\.index))
        return manifest.indices.filter { !done.contains($0) }
    }

    /// Adds finished entries and rewrites the manifest.
    public func record(_ entries: [ShardManifest.Entry]) throws {
        let new = Set(entries.map(\.index))
        manifest.entries.removeAll { new.contains($0.index) }
        manifest.entries += entries
        manifest.entries.sort { $0.index < $1.index }
        try manifest.write(path: path)
    }

    /// Marks the manifest complete (every index has its entry) and rewrites it.
    public func finish() throws {
        guard missing.isEmpty else {
            throw TweedieError.runtime("\(path): \(missing.count) indices of the shard are not finished")
        }
        manifest.complete = true
        try manifest.write(path: path)
    }

    /// `indices` (sorted) cut into runs of consecutive indices of at most `chunk` each, as (first, count).
    public static func runs(of indices: [Int], chunk: Int) -> [(first: Int, count: Int)] {
        var out: [(first: Int, count: Int)] = []
        for i in indices {
            if let last = out.last, last.first + last.count == i, last.count < chunk {
                out[out.count - 1].count += 1
            } else {
                out.append((i, 1))
            }
        }
        return out
    }

    /// Parses `--shard i/n` (0 <= i < n) and returns the contiguous block of `total` items shard i covers:
    /// items [i·total/n, (i+1)·total/n), so the blocks of 0..<n cover every item once and differ in size by one.
    public static func block(_ text: String, total: Int, flag: String = "--shard") throws -> (index: Int, of: Int, range: Range<Int>) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw TweedieError.badInput("\(flag) \(text): expected I/N, e.g. 0/4")
        }
        guard n >= 1, i >= 0, i < n else {
            throw TweedieError.badInput("\(flag) \(text): needs 0 <= I < N and N >= 1")
        }
        return (i, n, (i * total / n)..<((i + 1) * total / n))
    }
}
