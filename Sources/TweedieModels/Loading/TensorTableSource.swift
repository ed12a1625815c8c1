import TweedieCore

/// Weights held in memory under diffusers' names: building an inference model from trained (or EMA) parameters
/// without writing a file first.
public final class TensorTableSource: WeightSource {
    /// Describes the table in error messages.
    public let path: String
    /// Names in the order given.
    public let names: [String]
    private let tensors: [String: Tensor]

    /// A source over `tensors` (names must be unique); `description` names it in errors.
    public init(_ tensors: [(String, Tensor)], description: String = "<parameter table>") {
        path = description
        names = tensors.map(\.0)
        self.tensors = Dictionary(tensors, uniquingKeysWith: { _, last in last })
    }

    public func info(_ name: String) -> SafeTensorInfo? {
        tensors[name].map { SafeTensorInfo(dtype: "F32", shape: $0.shape) }
    }

    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard let t = tensors[name] else { throw TweedieError.badInput("\(path): missing tensor '\(name)'") }
        guard t.count == shape.reduce(1, *) else {
            throw TweedieError.badInput("\(path): tensor '\(name)' has shape \(t.shape), expected \(shape)")
        }
        return t.shape == shape ? t : t.reshaped(shape)
    }
}
