import Foundation
import TweedieCore
import TweedieModels

/// Everything a run needs to continue exactly where it stopped.
public struct TrainingState {
    /// Optimiser steps completed.
    public var step: Int
    /// Samples the data order has handed out.
    public var dataPosition: Int
    /// Current weights, in the network's parameter order.
    public var parameters: [Tensor]
    /// EMA weights and the number of EMA updates.
    public var ema: [Tensor]
    public var emaUpdates: Int
    /// Optimiser buffers by kind, then parameter index, and its step count.
    public var optimizerState: [String: [Int: Tensor]]
    public var optimizerSteps: Int
    /// Wall-clock seconds spent training over all sessions of the run.
    public var elapsedSeconds: Double
}

/// Training checkpoints: one safetensors file per saved step in `<out>/checkpoints/step-XXXXXXXX.safetensors`
/// holding `model/<name>`, `ema/<name>` and `optim/<kind>/<name>` tensors, with the step, data position, counters
/// and the recipe in the metadata. Written to a temporary name and renamed, so a kill never leaves half a file.
public enum TrainingCheckpoint {
    static let prefix = "step-", suffix = ".safetensors"
    /// Metadata key of the checksum of a latent run's autoencoder files (`LatentDataset.fingerprint`).
    public static let vaeKey = "vae_sha256"

    /// Writes `state` (with `metadata` added to the file's) and removes all but the newest `keep` checkpoints;
    /// returns the new file's path.
    @discardableResult
    public static func write(_ state: TrainingState, names: [String], recipe: TrainingRecipe, directory: String,
                             keep: Int, metadata extra: [String: String] = [:]) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var tensors: [(String, Tensor)] = []
        for (i, name) in names.enumerated() {
            tensors.append(("model/" + name, state.parameters[i]))
            tensors.append(("ema/" + name, state.ema[i]))
        }
        for (kind, byIndex) in state.optimizerState.sorted(by: { $0.key < $1.key }) {
            for (i, t) in byIndex.sorted(by: { $0.key < $1.key }) { tensors.append(("optim/\(kind)/\(names[i])", t)) }
        }
        var metadata = ["format": "tweedie-train-v1", "step": String(state.step),
                        "data_position": String(state.dataPosition), "ema_updates": String(state.emaUpdates),
                        "optimizer_steps": String(state.optimizerSteps),
                        "elapsed_seconds": String(state.elapsedSeconds), "recipe": recipe.jsonText]
        metadata.merge(extra) { old, _ in old }
        let path = (directory as NSString).appendingPathComponent(String(format: "\(prefix)%08d\(suffix)", state.step))
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
        let all = list(directory)
        for old in all.dropLast(keep) { try? FileManager.default.removeItem(atPath: old) }
        return path
    }

    /// Checkpoint files in `directory`, oldest first.
    public static func list(_ directory: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// The metadata of the checkpoint at `path`.
    public static func metadata(_ path: String) throws -> [String: String] { try SafeTensorsFile(path: path).metadata }

    /// The newest checkpoint in `directory`, if any.
    public static func newest(in directory: String) -> String? { list(directory).last }

    /// Reads a checkpoint for a network with parameters `names`/`shapes`; returns the state and the stored recipe.
    public static func read(_ path: String, names: [String], shapes: [[Int]]) throws -> (TrainingState, TrainingRecipe) {
        let file = try SafeTensorsFile(path: path)
        let meta = file.metadata
        func int(_ key: String) throws -> Int { try file.metadataInt(key) }
        guard meta["format"] == "tweedie-train-v1" else {
            throw TweedieError.badInput("\(path): not a tweedie training checkpoint (metadata 'format')")
        }
        let params = try zip(names, shapes).map { try file.tensor("model/" + $0, shape: $1) }
        let ema = try zip(names, shapes).map { try file.tensor("ema/" + $0, shape: $1) }
        let optimizer = try file.optimizerState(names: names, shapes: shapes)
        guard let recipeText = meta["recipe"],
              let object = try? JSONSerialization.jsonObject(with: Data(recipeText.utf8)) as? [String: Any] else {
            throw TweedieError.badInput("\(path): checkpoint metadata lacks a readable 'recipe'")
        }
        let recipe = try TrainingRecipe(json: object, source: "\(path) (recipe)", baseDirectory: "/")
        let state = TrainingState(step: try int("step"), dataPosition: try int("data_position"), parameters: params,
                                  ema: ema, emaUpdates: try int("ema_updates"), optimizerState: optimizer,
                                  optimizerSteps: try int("optimizer_steps"),
                                  elapsedSeconds: Double(meta["elapsed_seconds"] ?? "0") ?? 0)
        return (state, recipe)
    }
}
