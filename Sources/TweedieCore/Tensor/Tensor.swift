/// A dense, contiguous, row-major Float32 tensor with value semantics (copy-on-write through the array).
/// Images are NCHW; token sequences are [N, L, C].
public struct Tensor: Equatable, Sendable {
    /// Extent of each dimension, outermost first.
    public var shape: [Int]
    /// Row-major elements; `data.count == shape.reduce(1, *)`.
    public var data: [Float]

    /// A tensor of the given shape filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor over existing elements; the count must match the shape.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "Tensor: shape \(shape) does not hold \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    /// A tensor whose elements are written once by `fill` into uninitialised storage (no zeroing pass).
    public init(shape: [Int], unsafeUninitialized fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        self.shape = shape
        let n = shape.reduce(1, *)
        self.data = [Float](unsafeUninitializedCapacity: n) { buf, count in
            fill(buf)
            count = n
        }
    }

    /// A 0-d tensor holding one value.
    public init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    /// Number of elements.
    @inlinable public var count: Int { data.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// The same elements viewed under another shape with the same element count; one dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            s[i] = known == 0 ? 0 : count / known
        }
        return Tensor(shape: s, data: data)
    }

    /// Read access to the elements as a raw buffer.
    @inlinable public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeBufferPointer(body)
    }

    /// Write access to the elements as a raw buffer.
    @inlinable public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try data.withUnsafeMutableBufferPointer(body)
    }

    /// Largest absolute element (0 for an empty tensor); NaN when any element is NaN, so a broken output can never
    /// look small (Swift's `max` would silently drop the NaN).
    public var maxAbs: Float {
        var m: Float = 0
        for v in data {
            if v.isNaN { return .nan }
            m = Swift.max(m, abs(v))
        }
        return m
    }
}

extension Tensor {
    /// Largest absolute elementwise difference between two tensors of the same shape; NaN when any difference is
    /// NaN (a NaN on either side, or Inf - Inf), +Inf when one side is infinite and the other is not.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape) differ")
        var m: Float = 0
        for i in 0..<count {
            let d = abs(data[i] - other.data[i])
            if d.isNaN { return .nan }
            m = Swift.max(m, d)
        }
        return m
    }
}
