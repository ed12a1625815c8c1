import Foundation
import TweedieCore
import TweedieModels

/// `tweedie quantize`: a model folder (bare, or a diffusers pipeline folder whose model subfolders are each
/// quantized) copied with int8 weights (`QuantizedFolder`). The new folder is assembled under a temporary name
/// beside `--out` and renamed into place only when everything is written, so a failure leaves nothing behind.
/// JSON side files (scheduler_config.json, labels.json, recipe.json, model_index.json) and non-model subfolders
/// (scheduler/) are copied; images and model cards describe the Float32 weights and are not.
public enum FolderQuantizer {
    /// One quantized model folder.
    public struct Entry: Sendable {
        /// Path relative to the output folder ("." for a bare folder).
        public let folder: String
        /// Its `_class_name`.
        public let className: String
        /// What was written.
        public let summary: QuantizedFolder.Summary
    }

    /// Quantizes `source` into `destination` (which must not exist). Layers named in `keepFloat` (a layer prefix
    /// such as `conv_in`, or a block such as `mid_block`, matching the layer or everything under it) stay Float32;
    /// a name that matches no layer is `badInput`.
    public static func quantize(from source: String, to destination: String,
                                keepFloat: [String] = []) throws -> [Entry] {
        let fm = FileManager.default
        guard isDirectory(source) else {
            throw TweedieError.badInput("\(source): not a model folder (expected config.json + \(ModelFolder.weightsFile))")
        }
        guard !fm.fileExists(atPath: destination) else {
            throw TweedieError.badInput("--out \(destination): already exists (remove it or pick another folder)")
        }
        // (NSString's deletingLastPathComponent traps on some one-letter relative paths in this Foundation.)
        let parent = URL(fileURLWithPath: destination).standardizedFileURL.deletingLastPathComponent().path
        guard isDirectory(parent) else {
            throw TweedieError.badInput("--out \(destination): the folder \(parent) does not exist")
        }
        let staging = destination + ".tmp-\(getpid())"
        try? fm.removeItem(atPath: staging)
        do {
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
            var matched = Set<String>()
            let pipeline = fm.fileExists(atPath: join(source, "model_index.json"))
            var entries: [Entry] = []
            if pipeline {
                for name in try fm.contentsOfDirectory(atPath: source).sorted() {
                    let from = join(source, name), to = join(staging, name)
                    if isDirectory(from) && fm.fileExists(atPath: join(from, ModelFolder.configFile))
                        && isModelFolder(from) {
                        try fm.createDirectory(atPath: to, withIntermediateDirectories: false)
                        entries.append(try quantizeOne(from, into: to, name: name, keepFloat: keepFloat, matched: &matched))
                    } else if isDirectory(from) || name.hasSuffix(".json") {
                        try fm.copyItem(atPath: from, toPath: to)
                    }
                }
                guard !entries.isEmpty else {
                    throw TweedieError.badInput("\(source): the pipeline folder holds no model subfolder to quantize")
                }
            } else {
                entries.append(try quantizeOne(source, into: staging, name: ".", keepFloat: keepFloat, matched: &matched))
            }
            if let unknown = keepFloat.first(where: { !matched.contains($0) }) {
                throw TweedieError.badInput("--keep-float \(unknown): matches no linear or convolution layer")
            }
            try fm.moveItem(atPath: staging, toPath: destination)
            return entries
        } catch {
            try? fm.removeItem(atPath: staging)
            throw error
        }
    }

    private static func isModelFolder(_ folder: String) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: join(folder, ModelFolder.weightsFile))
            || fm.fileExists(atPath: join(folder, TweedieClassifier.weightsFile))
    }

    private static func quantizeOne(_ from: String, into to: String, name: String, keepFloat: [String],
                                    matched: inout Set<String>) throws -> Entry {
        try ResourceLimits.checkModelConfig(folder: from)
        let model = try ModelFolder.load(from)
        if model.weights.providers.values.contains(where: { $0 is Int8Weights }) {
            throw TweedieError.badInput("\(from): the model is already quantized (int8 weights)")
        }
        var hits = Set<String>()
        let summary = try QuantizedFolder.write(model, to: to) { layer in
            let keep = keepFloat.filter { layer == $0 || layer.hasPrefix($0 + ".") }
            hits.formUnion(keep)
            return keep.isEmpty
        }
        matched.formUnion(hits)
        // Side files that describe the network (scheduler, class names, training recipe) come along.
        let fm = FileManager.default
        for file in try fm.contentsOfDirectory(atPath: from).sorted() where file != ModelFolder.configFile {
            let path = join(from, file)
            if file.hasSuffix(".json") || (isDirectory(path) && file == "scheduler") {
                try fm.copyItem(atPath: path, toPath: join(to, file))
            }
        }
        return Entry(folder: name, className: model.className, summary: summary)
    }
}
