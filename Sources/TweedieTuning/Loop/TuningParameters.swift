import TweedieCore

/// The tensors a tuning method optimises (LoRA factors, an embedding row, gates), by name and in a fixed order:
/// the order of the optimiser's state, of the gradients an objective returns and of a checkpoint's tensors.
/// Everything else in the model stays frozen.
public struct TuningParameters: Equatable {
    /// Names in optimisation order.
    public let names: [String]
    /// Current values, same order as `names`.
    public var values: [Tensor]

    /// Parameters `pairs` in the given order; a repeated name or an empty list is `badInput`.
    public init(_ pairs: [(String, Tensor)]) throws {
        guard !pairs.isEmpty else { throw TweedieError.badInput("tuning: no parameters to optimise") }
        var seen = Set<String>()
        for (name, _) in pairs where !seen.insert(name).inserted {
            throw TweedieError.badInput("tuning: parameter '\(name)' is listed twice")
        }
        names = pairs.map(\.0)
        values = pairs.map(\.1)
    }

    /// Elements over all parameters.
    public var count: Int { values.reduce(0) { $0 + $1.count } }

    /// (name, value) pairs in order.
    public var pairs: [(String, Tensor)] { Array(zip(names, values)) }

    /// Zero tensors shaped like the parameters (gradient accumulators).
    public func zeros() -> [Tensor] { values.map { Tensor(shape: $0.shape) } }

    /// The value of `name`, if it is one of the parameters.
    public subscript(name: String) -> Tensor? {
        names.firstIndex(of: name).map { values[$0] }
    }
}
