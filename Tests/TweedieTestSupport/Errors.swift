import TweedieCore

/// max |a - b| / max |b|, the relative error of the parity tests: relative to the reference's scale, so near-zero
/// elements do not dominate. NaN when either side holds a NaN or an infinity, so a broken output can never pass.
public func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "relativeError: \(a.count) vs \(b.count) elements")
    var num: Float = 0, den: Float = 0
    for i in 0..<a.count {
        guard a[i].isFinite, b[i].isFinite else { return .nan }
        num = Swift.max(num, abs(a[i] - b[i]))
        den = Swift.max(den, abs(b[i]))
    }
    return num / Swift.max(den, 1e-30)
}

/// `relativeError` over two tensors of the same element count.
public func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count, "relativeError: \(a.shape) vs \(b.shape)")
    return a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in relativeError(Array(pa), Array(pb)) } }
}

/// max |a - b| over two arrays; NaN when either side holds a NaN or an infinity.
public func maxAbsError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxAbsError: \(a.count) vs \(b.count) elements")
    var m: Float = 0
    for i in 0..<a.count {
        guard a[i].isFinite, b[i].isFinite else { return .nan }
        m = Swift.max(m, abs(a[i] - b[i]))
    }
    return m
}

/// `maxAbsError` over two tensors of the same element count.
public func maxAbsError(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count, "maxAbsError: \(a.shape) vs \(b.shape)")
    return a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in maxAbsError(Array(pa), Array(pb)) } }
}

/// The larger of two errors, NaN when either is NaN (Swift's `max` keeps whichever operand the comparison favours,
/// so a NaN error could vanish from a running worst case).
public func nanMax<T: FloatingPoint>(_ a: T, _ b: T) -> T { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }

/// The largest of a sequence of errors (0 when empty), NaN when any is NaN.
public func nanMax<S: Sequence>(_ values: S) -> S.Element where S.Element: FloatingPoint {
    values.reduce(0) { nanMax($0, $1) }
}
