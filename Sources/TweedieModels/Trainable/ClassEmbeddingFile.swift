import Foundation
import TweedieCore

/// A learned concept for a class-conditional model (`tweedie invert`, read by `tweedie generate --embedding`): a
/// safetensors file with one F32 tensor [width] per class-embedding table, named like the table
/// (`class_embedding.weight` for a U-Net), and metadata `tweedie_embedding` = "class-row-v1", `label` (the concept's
/// name) plus how it was learned. Applying it appends each row to its table; the concept's class id is the tables'
/// former row count.
public struct ClassEmbeddingFile: Sendable {
    /// Metadata key naming the format.
    public static let formatKey = "tweedie_embedding"
    /// The format written and read.
    public static let format = "class-row-v1"

    /// (table name, new row) in the model's table order.
    public var rows: [(table: String, row: Tensor)]
    /// The concept's name (a class label in generate's output and metadata).
    public var label: String
    /// Further metadata (method, steps, model name and weights hash, ...).
    public var metadata: [String: String]

    /// An embedding from its parts.
    public init(rows: [(table: String, row: Tensor)], label: String, metadata: [String: String] = [:]) {
        self.rows = rows
        self.label = label
        self.metadata = metadata
    }

    /// Reads `path`; a file that is not a class-row embedding, or a tensor that is not one row, is `badInput`
    /// naming it.
    public init(path: String) throws {
        let file = try SafeTensorsFile(path: path)
        guard file.metadata[Self.formatKey] == Self.format else {
            throw TweedieError.badInput("\(path): not a tweedie class embedding (metadata \(Self.formatKey) is "
                                        + "\(file.metadata[Self.formatKey].map { "'\($0)'" } ?? "missing"), expected "
                                        + "'\(Self.format)')")
        }
        // The tables' order is stored because safetensors files list tensors sorted by name.
        let order = (file.metadata["tables"] ?? "").split(separator: ",").map(String.init)
        guard Set(order) == Set(file.names), order.count == file.names.count, !order.isEmpty else {
            throw TweedieError.badInput("\(path): metadata 'tables' does not list the file's tensors")
        }
        rows = try order.map { name in
            let info = file.info(name)!
            guard info.shape.count == 1 else {
                throw TweedieError.badInput("\(path): tensor '\(name)' has shape \(info.shape), expected one row [width]")
            }
            return (name, try file.tensor(name, shape: info.shape))
        }
        label = file.metadata["label"] ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var rest = file.metadata
        for key in [Self.formatKey, "tables", "label"] { rest[key] = nil }
        metadata = rest
    }

    /// Writes the file (under a temporary name, then renamed).
    public func write(to path: String) throws {
        var meta = metadata
        meta[Self.formatKey] = Self.format
        meta["tables"] = rows.map(\.table).joined(separator: ",")
        meta["label"] = label
        try SafeTensorsWriter.write(rows.map { ($0.table, $0.row) }, metadata: meta, to: path)
    }

    /// Checks that the rows fit `model`'s tables (same names, same widths), naming `source` in the error.
    public func check(against model: ClassEmbeddingTables, source: String) throws {
        let tables = model.classEmbeddingTables
        guard !tables.isEmpty else {
            throw TweedieError.badInput("\(source): the model has no class-embedding table to add the concept to")
        }
        guard rows.map(\.table) == tables else {
            let have = rows.map(\.table), shown = have.prefix(2).joined(separator: ", ")
            throw TweedieError.badInput("\(source): holds rows for \(shown)\(have.count > 2 ? ", ..." : "") "
                                        + "(\(have.count) tables); the model's class tables are "
                                        + "\(tables.prefix(2).joined(separator: ", "))\(tables.count > 2 ? ", ..." : "") "
                                        + "(\(tables.count))")
        }
        for ((name, row), width) in zip(rows, model.classEmbeddingWidths) where row.count != width {
            throw TweedieError.badInput("\(source): row '\(name)' is \(row.count) wide, the model's table is \(width) "
                                        + "wide (an embedding learned for another model)")
        }
    }

    /// Appends the rows to `model`'s tables and returns the concept's class id.
    @discardableResult
    public func apply(to model: ClassEmbeddingTables, source: String) throws -> Int {
        try check(against: model, source: source)
        return try model.appendClassRow(rows.map(\.row))
    }
}
