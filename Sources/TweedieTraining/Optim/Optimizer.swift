import TweedieCore

/// A first-order optimiser over a fixed list of parameter tensors (the order never changes between steps).
/// `state` exposes every buffer it keeps so checkpoints can save and restore it exactly.
public protocol Optimizer: AnyObject {
    /// Learning rate of the next `update` (schedules set it before each step).
    var learningRate: Float { get set }
    /// Updates taken so far.
    var stepCount: Int { get }
    /// Applies one update of `parameters` from `gradients` (same shapes, same order).
    func update(_ parameters: inout [Tensor], gradients: [Tensor])
    /// Named state buffers (per parameter index) for checkpoints, e.g. ("exp_avg", i, tensor).
    var state: [(kind: String, index: Int, value: Tensor)] { get }
    /// Restores buffers saved from `state` and the step count; throws badInput naming a missing/mis-shaped one.
    func restore(state: [String: [Int: Tensor]], stepCount: Int) throws
}

/// Shared checks of optimiser inputs.
enum OptimizerChecks {
    static func sameShapes(_ a: [Tensor], _ b: [Tensor], _ who: String) {
        precondition(a.count == b.count, "\(who): \(a.count) parameters, \(b.count) gradients")
        for i in a.indices {
            precondition(a[i].count == b[i].count, "\(who): parameter \(i) \(a[i].shape) vs gradient \(b[i].shape)")
        }
    }

    /// Looks up buffer `kind` of every parameter in restored state.
    static func buffers(_ state: [String: [Int: Tensor]], kind: String, like shapes: [Tensor],
                        _ who: String) throws -> [Tensor] {
        try shapes.indices.map { i in
            guard let t = state[kind]?[i] else {
                throw TweedieError.badInput("\(who): checkpoint lacks optimiser buffer '\(kind)' of parameter \(i)")
            }
            guard t.count == shapes[i].count else {
                throw TweedieError.badInput("\(who): optimiser buffer '\(kind)' of parameter \(i) has shape "
                                            + "\(t.shape), expected \(shapes[i].shape)")
            }
            return t.reshaped(shapes[i].shape)
        }
    }
}
