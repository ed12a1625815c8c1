import Foundation
import TweedieCore
import TweedieModels

/// Where a tuning run stands: enough to continue bit for bit.
public struct TuningState {
    /// Optimiser updates completed.
    public var step: Int
    /// Current parameters.
    public var parameters: TuningParameters
    /// Optimiser buffers by kind, then parameter index, and its step count.
    public var optimizerState: [String: [Int: Tensor]]
    public var optimizerSteps: Int
    /// Wall and process-CPU seconds spent over all sessions of the run.
    public var elapsedSeconds: Double
    public var cpuSeconds: Double
}

/// Tuning checkpoints: `<out>/checkpoints/step-XXXXXXXX.safetensors` with `param/<name>` and
/// `optim/<kind>/<name>` tensors; the metadata holds the counters (`format` tweedie-tune-v1) and the method's own
/// entries (its settings, so `--resume` needs no flags). Written under a temporary name and renamed.
public enum TuningCheckpoint {
    static let format = "tweedie-tune-v1"
    static let prefix = "step-", suffix = ".safetensors"

    /// Writes `state` with the method's `metadata`, keeps the newest `keep` checkpoints; returns the file's path.
    @discardableResult
    public static func write(_ state: TuningState, metadata: [String: String], directory: String,
                             keep: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let names = state.parameters.names
        var tensors = state.parameters.pairs.map { ("param/" + $0.0, $0.1) }
        for (kind, byIndex) in state.optimizerState.sorted(by: { $0.key < $1.key }) {
            for (i, t) in byIndex.sorted(by: { $0.key < $1.key }) { tensors.append(("optim/\(kind)/\(names[i])", t)) }
        }
        var meta = metadata
        meta["format"] = format
        meta["step"] = String(state.step)
        meta["optimizer_steps"] = String(state.optimizerSteps)
        meta["elapsed_seconds"] = String(state.elapsedSeconds)
        meta["cpu_seconds"] = String(state.cpuSeconds)
        meta["parameter_order"] = names.joined(separator: ",")
        let path = (directory as NSString).appendingPathComponent(String(format: "\(prefix)%08d\(suffix)", state.step))
        try SafeTensorsWriter.write(tensors, metadata: meta, to: path)
        for old in list(directory).dropLast(max(1, keep)) { try? FileManager.default.removeItem(atPath: old) }
        return path
    }

    /// Checkpoint files in `directory`, oldest first.
    public static func list(_ directory: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// The newest checkpoint in `directory`, if any.
    public static func newest(in directory: String) -> String? { list(directory).last }

    /// The method's metadata of a checkpoint (to rebuild its settings before the state is read).
    public static func metadata(_ path: String) throws -> [String: String] {
        let meta = try SafeTensorsFile(path: path).metadata
        guard meta["format"] == format else {
            throw TweedieError.badInput("\(path): not a tweedie tuning checkpoint (metadata 'format')")
        }
        return meta
    }

    /// Reads a checkpoint of parameters shaped like `like` (names and shapes must match: a mismatch is
    /// `badInput` naming the tensor).
    public static func read(_ path: String, like: TuningParameters) throws -> TuningState {
        let file = try SafeTensorsFile(path: path)
        let meta = try metadata(path)
        func int(_ key: String) throws -> Int { try file.metadataInt(key) }
        let values = try zip(like.names, like.values).map { try file.tensor("param/" + $0, shape: $1.shape) }
        let index = Dictionary(uniqueKeysWithValues: like.names.enumerated().map { ($1, $0) })
        let optimizer = try file.optimizerState(names: like.names, shapes: like.values.map(\.shape))
        for name in file.names where name.hasPrefix("param/") && index[String(name.dropFirst(6))] == nil {
            throw TweedieError.badInput("\(path): parameter '\(name.dropFirst(6))' is not one this run tunes")
        }
        return TuningState(step: try int("step"), parameters: try TuningParameters(Array(zip(like.names, values))),
                           optimizerState: optimizer, optimizerSteps: try int("optimizer_steps"),
                           elapsedSeconds: Double(meta["elapsed_seconds"] ?? "0") ?? 0,
                           cpuSeconds: Double(meta["cpu_seconds"] ?? "0") ?? 0)
    }
}
