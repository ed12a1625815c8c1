import TweedieCore

/// A network whose parameters are a fixed list of named, shaped tensors (every differentiable model): the
/// count and the checking of a parameter table are written once here.
public protocol NamedParameterList {
    /// Every parameter as (checkpoint name, shape), in load order.
    var parameterShapes: [(name: String, shape: [Int])] { get }
}

extension NamedParameterList {
    /// Elements over all parameters.
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Throws `badInput` naming the first parameter `shapes` lacks or holds with the wrong shape, and the first
    /// name that is not a parameter of this network.
    public func validate(_ shapes: [String: [Int]], source: String) throws {
        for (name, shape) in parameterShapes {
            guard let s = shapes[name] else { throw TweedieError.badInput("\(source): missing parameter '\(name)'") }
            guard s == shape else {
                throw TweedieError.badInput("\(source): parameter '\(name)' has shape \(s), expected \(shape)")
            }
        }
        if shapes.count != parameterShapes.count {
            let known = Set(parameterShapes.map(\.name))
            if let extra = shapes.keys.sorted().first(where: { !known.contains($0) }) {
                throw TweedieError.badInput("\(source): unexpected parameter '\(extra)'")
            }
        }
    }
}
