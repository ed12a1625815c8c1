import Foundation
import TweedieCore
import TweedieModels

/// What a classifier run needs to continue exactly where it stopped.
public struct ClassifierTrainingState {
    /// Optimiser steps completed.
    public var step: Int
    /// Samples the data order has handed out.
    public var dataPosition: Int
    /// Weights in the network's parameter order.
    public var parameters: [Tensor]
    /// Optimiser buffers by kind, then parameter index, and the optimiser's own step count.
    public var optimizerState: [String: [Int: Tensor]]
    public var optimizerSteps: Int
    /// Wall-clock seconds spent training over all sessions of the run.
    public var elapsedSeconds: Double
}

/// Classifier training checkpoints: `<dir>/step-XXXXXXXX.safetensors` holding `model/<name>` and
/// `optim/<kind>/<name>` tensors, with the counters and the recipe JSON in the metadata. Written under a temporary
/// name and renamed, so a killed run never leaves half a file.
public enum ClassifierCheckpoint {
    static let format = "tweedie-classifier-train-v1", prefix = "step-", suffix = ".safetensors"

    /// Writes `state`, keeps the newest `keep` checkpoints and returns the new file's path.
    @discardableResult
    public static func write(_ state: ClassifierTrainingState, names: [String], recipe: ClassifierRecipe,
                             directory: String, keep: Int = 2) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var tensors = zip(names, state.parameters).map { ("model/" + $0, $1) }
        for (kind, byIndex) in state.optimizerState {
            for (i, t) in byIndex { tensors.append(("optim/\(kind)/\(names[i])", t)) }
        }
        let metadata = ["format": format, "step": String(state.step), "data_position": String(state.dataPosition),
                        "optimizer_steps": String(state.optimizerSteps),
                        "elapsed_seconds": String(state.elapsedSeconds), "recipe": recipe.jsonText]
        let path = (directory as NSString).appendingPathComponent(String(format: "\(prefix)%08d\(suffix)", state.step))
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
        for old in list(directory).dropLast(max(1, keep)) { try? FileManager.default.removeItem(atPath: old) }
        return path
    }

    /// Checkpoint files in `directory`, oldest first.
    public static func list(_ directory: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// The recipe stored in checkpoint `path`.
    public static func recipe(_ path: String) throws -> ClassifierRecipe {
        let file = try SafeTensorsFile(path: path)
        guard file.metadata["format"] == format else {
            throw TweedieError.badInput("\(path): not a classifier training checkpoint (metadata 'format')")
        }
        guard let text = file.metadata["recipe"] else {
            throw TweedieError.badInput("\(path): checkpoint metadata lacks 'recipe'")
        }
        return try ClassifierRecipe(jsonText: text, source: "\(path) (recipe)")
    }

    /// Reads checkpoint `path` of a network with parameters `shapes` (name, shape), in that order.
    public static func read(_ path: String, shapes: [(name: String, shape: [Int])]) throws -> ClassifierTrainingState {
        let file = try SafeTensorsFile(path: path)
        let meta = file.metadata
        guard meta["format"] == format else {
            throw TweedieError.badInput("\(path): not a classifier training checkpoint (metadata 'format')")
        }
        func int(_ key: String) throws -> Int { try file.metadataInt(key) }
        let parameters = try shapes.map { try file.tensor("model/" + $0.name, shape: $0.shape) }
        let optimizer = try file.optimizerState(names: shapes.map(\.name), shapes: shapes.map(\.shape))
        return ClassifierTrainingState(step: try int("step"), dataPosition: try int("data_position"),
                                       parameters: parameters, optimizerState: optimizer,
                                       optimizerSteps: try int("optimizer_steps"),
                                       elapsedSeconds: Double(meta["elapsed_seconds"] ?? "0") ?? 0)
    }
}
