import TweedieCore

/// Cuts masked-out units out of a model's tensors: for each group, the consumer's input columns and the producers'
/// rows of the units whose gate is 0 are removed, giving a structurally smaller network that computes what the
/// masked one does (to the rounding of shorter sums). The result keeps diffusers' names; its per-layer widths
/// differ from the uniform config, so they are recorded under `tweedie_layer_widths` (diffusers cannot load it).
public enum Narrowing {
    /// The kept units of `group` from its `<consumer>.gates` in `weights` (a gate counts as kept when > 0).
    public static func kept(_ group: PrunableGroup, in weights: ModelWeights) -> [Bool] {
        guard let g = weights.tensors[group.consumer + ".gates"] else { return [Bool](repeating: true, count: group.count) }
        return g.data.map { $0 > 0 }
    }

    /// The tensors of `weights` (in load order, without gates, LoRA factors or providers) with the units whose
    /// gates are 0 removed, and the width of every group (units kept). A group with no unit left keeps zero-size
    /// tensors (width 0): the model then computes that branch as its consumer's bias alone (`prunedLinear`,
    /// `prunedMap`), which is what the gates at 0 computed.
    public static func narrowed(_ model: PrunableModel) throws -> (tensors: [(String, Tensor)], widths: [String: Int]) {
        let w = model.weights
        var table = w.tensors
        var widths: [String: Int] = [:]
        for group in model.prunableGroups {
            let keep = kept(group, in: w)
            let units = keep.filter { $0 }.count
            guard keep.count == group.count else {
                throw TweedieError.badInput("narrowing: '\(group.consumer).gates' has \(keep.count) gates for "
                                            + "\(group.count) \(group.kind)s")
            }
            widths[group.widthKey] = units
            guard units < group.count else { continue }
            let name = group.consumer + ".weight"
            table[name] = keepColumns(table[name]!, keep: keep, unitSize: group.unitSize)
            for p in group.producers {
                guard let t = table[p.name] else { continue }
                table[p.name] = keepRows(t, keep: keep, rowsPerUnit: group.rowsPerUnit, blocks: p.blocks)
            }
        }
        let skip: (String) -> Bool = { $0.hasSuffix(".gates") || $0.contains(".lora_A.") || $0.contains(".lora_B.") }
        return (w.order.filter { !skip($0) }.map { ($0, table[$0]!) }, widths)
    }

    /// x [out, in, ...] with the input-column units where `keep` is false removed.
    static func keepColumns(_ x: Tensor, keep: [Bool], unitSize: Int) -> Tensor {
        let out = x.shape[0], inputs = x.shape[1], inner = x.count / (out * inputs)
        let cols = (0..<inputs).filter { keep[$0 / unitSize] }
        var data: [Float] = []
        data.reserveCapacity(out * cols.count * inner)
        for o in 0..<out {
            for c in cols { data += x.data[((o * inputs + c) * inner)..<((o * inputs + c + 1) * inner)] }
        }
        var shape = x.shape
        shape[1] = cols.count
        return Tensor(shape: shape, data: data)
    }

    /// x [rows, ...] (made of `blocks` stacked row ranges) with the row units where `keep` is false removed.
    static func keepRows(_ x: Tensor, keep: [Bool], rowsPerUnit: Int, blocks: Int) -> Tensor {
        let rows = x.shape[0], per = x.count / rows, blockRows = rows / blocks
        var data: [Float] = []
        var kept = 0
        for b in 0..<blocks {
            for r in 0..<blockRows where keep[r / rowsPerUnit] {
                let row = b * blockRows + r
                data += x.data[(row * per)..<((row + 1) * per)]
                kept += 1
            }
        }
        var shape = x.shape
        shape[0] = kept
        return Tensor(shape: shape, data: data)
    }
}
