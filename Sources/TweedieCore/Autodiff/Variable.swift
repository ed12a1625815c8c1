/// A value produced on a `Tape`: the forward tensor plus its node id. Cheap to copy (the tensor is copy-on-write).
public struct Variable {
    /// The forward value.
    public let value: Tensor
    /// Position of the node on its tape.
    public let id: Int
    /// The tape that recorded this value.
    public let tape: Tape

    /// Shape of the forward value.
    public var shape: [Int] { value.shape }
    /// Whether gradients flow into this value (it is a leaf that asked for one, or depends on such a leaf).
    public var requiresGrad: Bool { tape.needsGradient(id) }
    /// The gradient after `backward` (leaves and retained nodes only).
    public var grad: Tensor? { tape.gradient(self) }

    /// Backpropagates from this scalar value through its tape (`tape.backward(self)`).
    public func backward() { tape.backward(self) }
}

extension Variable {
    /// Elementwise sum of same-shape values.
    public static func + (a: Variable, b: Variable) -> Variable { a.tape.add(a, b) }
    /// Elementwise difference of same-shape values.
    public static func - (a: Variable, b: Variable) -> Variable { a.tape.sub(a, b) }
    /// Elementwise product of same-shape values.
    public static func * (a: Variable, b: Variable) -> Variable { a.tape.mul(a, b) }
    /// Multiplication by a constant.
    public static func * (a: Variable, s: Float) -> Variable { a.tape.scale(a, s) }
    /// Multiplication by a constant.
    public static func * (s: Float, a: Variable) -> Variable { a.tape.scale(a, s) }
}
