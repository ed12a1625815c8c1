import TweedieCore

/// A family of structural units a mask can gate and an export can remove: `count` units, each `unitSize`
/// consecutive input columns of the consumer layer, produced by `rowsPerUnit` consecutive rows (axis 0) of each
/// producer tensor. Attention heads: consumer `to_out.0`, producers the rows of `to_q`, `to_k`, `to_v`.
/// Feed-forward neurons: consumer `ff.net.2`, producer `ff.net.0.proj`. Resnet channels, by whole norm groups:
/// consumer `conv2`, producers `conv1`, `norm2` and `time_emb_proj`.
public struct PrunableGroup: Sendable {
    /// A tensor whose rows belong to the units; `blocks` > 1 when it stacks that many row ranges of the same
    /// layout (GEGLU's two halves, scale_shift's scale and shift).
    public struct Producer: Sendable {
        public let name: String
        public let blocks: Int
    }

    /// Prefix of the layer whose input columns the gates act on (where `GatedWeights` attaches).
    public let consumer: String
    /// Input columns of the consumer per unit.
    public let unitSize: Int
    /// Number of units.
    public let count: Int
    /// Rows per unit in each producer tensor.
    public let rowsPerUnit: Int
    /// Tensors whose rows are cut with the units.
    public let producers: [Producer]
    /// What a unit is ("head", "neuron", "channel group"), for reports.
    public let kind: String
    /// Key of this group's width in `tweedie_layer_widths` (its number of units after narrowing).
    public var widthKey: String { consumer }

    public init(consumer: String, unitSize: Int, count: Int, rowsPerUnit: Int, producers: [Producer], kind: String) {
        self.consumer = consumer
        self.unitSize = unitSize
        self.count = count
        self.rowsPerUnit = rowsPerUnit
        self.producers = producers
        self.kind = kind
    }

    /// Parameters (weights and biases) the units account for, per unit: the consumer's columns and the
    /// producers' rows.
    public func parametersPerUnit(in weights: ModelWeights) -> Int {
        var n = 0
        if let w = weights.tensors[consumer + ".weight"] { n += w.count / w.shape[1] * unitSize }
        for p in producers {
            guard let t = weights.tensors[p.name] else { continue }
            n += t.count / t.shape[0] * rowsPerUnit * p.blocks
        }
        return n
    }
}

/// Models whose units can be masked and cut out.
public protocol PrunableModel: AnyObject {
    /// Every prunable unit family of the model, in load order.
    var prunableGroups: [PrunableGroup] { get }
    /// The model's parameters.
    var weights: ModelWeights { get }
}
