import TweedieCore

/// A denoiser whose class label indexes embedding tables [rows, width]: UNet2DModel's `class_embedding` (one
/// table), a DiT's per-block `class_embedder` tables (one per block). Textual inversion for such models learns one
/// new row per table for a new concept while every other weight stays frozen; the new row's id is the tables'
/// former row count, and the network accepts it because it reads its label range from the table it computes with.
public protocol ClassEmbeddingTables: DiffusionModel {
    /// Names of the tables the class label indexes, in a fixed order (empty: no class table).
    var classEmbeddingTables: [String] { get }
}

extension ClassEmbeddingTables {
    /// Rows each table holds now (the id a newly appended row gets).
    public var classRowCount: Int {
        classEmbeddingTables.first.flatMap { weights.tensors[$0]?.shape.first } ?? 0
    }

    /// The width of each table, in `classEmbeddingTables` order.
    public var classEmbeddingWidths: [Int] {
        classEmbeddingTables.map { weights.tensors[$0]?.shape.last ?? 0 }
    }

    /// Row `id` of every table.
    public func classRow(_ id: Int) -> [Tensor] {
        classEmbeddingTables.map { name in
            let t = weights.tensors[name]!, w = t.shape[1]
            return Tensor(shape: [w], data: Array(t.data[(id * w)..<((id + 1) * w)]))
        }
    }

    /// Appends `rows[i]` ([width_i]) to table i and returns the new class id. A model without a class table, or a
    /// row of another width, is `badInput` naming the table.
    @discardableResult
    public func appendClassRow(_ rows: [Tensor]) throws -> Int {
        let names = classEmbeddingTables
        guard !names.isEmpty else {
            throw TweedieError.badInput("the model has no class-embedding table (a class-conditional UNet2DModel or "
                                        + "DiT is needed)")
        }
        try checkRows(rows)
        let id = classRowCount
        for (name, row) in zip(names, rows) {
            let t = weights.tensors[name]!
            weights.insert(name, Tensor(shape: [t.shape[0] + 1, t.shape[1]], data: t.data + row.data))
        }
        return id
    }

    /// Overwrites row `id` of every table with `rows` (the concept row while it is learned).
    public func setClassRow(_ id: Int, _ rows: [Tensor]) {
        for (name, row) in zip(classEmbeddingTables, rows) {
            var t = weights.tensors[name]!
            let w = t.shape[1]
            precondition(row.count == w && id >= 0 && id < t.shape[0], "setClassRow: row \(id) of \(name)")
            t.withUnsafeMutableBufferPointer { p in
                row.withUnsafeBufferPointer { r in for j in 0..<w { p[id * w + j] = r[j] } }
            }
            weights.insert(name, t)
        }
    }

    /// Throws `badInput` unless `rows` has one row per table, each of that table's width.
    public func checkRows(_ rows: [Tensor], source: String = "embedding") throws {
        let names = classEmbeddingTables, widths = classEmbeddingWidths
        guard rows.count == names.count else {
            throw TweedieError.badInput("\(source): \(rows.count) rows for the model's \(names.count) class tables")
        }
        for (i, row) in rows.enumerated() where row.count != widths[i] || row.shape.count != 1 {
            throw TweedieError.badInput("\(source): row for '\(names[i])' has shape \(row.shape), the model's table is "
                                        + "\(widths[i]) wide")
        }
    }
}

extension UNet2DModel: ClassEmbeddingTables {
    /// `class_embedding.weight` when the config has a class table (num_class_embeds), else none.
    public var classEmbeddingTables: [String] {
        if case .table = config.classEmbedding { return ["class_embedding.weight"] }
        return []
    }
}

extension DiTTransformer2DModel: ClassEmbeddingTables {
    /// Every block's `norm1.emb.class_embedder.embedding_table.weight` (diffusers keeps one per block).
    public var classEmbeddingTables: [String] {
        blocks.map { $0.prefix + ".norm1.emb.class_embedder.embedding_table.weight" }
    }
}
