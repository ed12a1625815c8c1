import Foundation
import TweedieCore
import TweedieModels

/// A concept from a class embedding file (`tweedie invert`) added to a pipeline's network as one more class.
public struct AppliedEmbedding: Sendable, Equatable {
    /// The file as given.
    public let path: String
    /// The concept's name (its class label).
    public let label: String
    /// The class id the concept got (the tables' former row count).
    public let classID: Int
    /// SHA-256 of the file (stored in image metadata).
    public let sha256: String
}

extension SamplingPipeline {
    /// Adds the concept of the class embedding file at `path` (`generate --embedding`): its rows are appended to
    /// the network's class tables and its label joins the class space under the new id, which is returned.
    /// A file for another model (other tables or widths), a network without a class table, or a second embedding
    /// is `badInput` naming the file.
    @discardableResult
    public func addEmbedding(path: String) throws -> Int {
        guard embedding == nil else {
            throw TweedieError.badInput("--embedding \(path): the pipeline already has the embedding \(embedding!.path)")
        }
        guard let net = network as? ClassEmbeddingTables, !net.classEmbeddingTables.isEmpty,
              classes.isConditional, classes.tableSize != Int.max else {
            throw TweedieError.badInput("--embedding \(path): the model \(source.name) has no class-embedding table "
                                        + "(a class-conditional UNet2DModel or DiT is needed)")
        }
        let file = try ClassEmbeddingFile(path: path)
        let id = try file.apply(to: net, source: path)
        var labels = classes.labels
        labels[id] = file.label
        classes = ClassSpace(tableSize: id + 1, nullClass: classes.nullClass, labels: labels)
        embedding = AppliedEmbedding(path: path, label: file.label, classID: id, sha256: try SHA256.hex(fileAt: path))
        return id
    }
}
