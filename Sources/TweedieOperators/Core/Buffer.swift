import TweedieCore

/// A real or complex array for linear operators. Complex values are stored interleaved (re, im, re, im, …), the
/// layout of FFTW's `fftwf_complex`, so a buffer goes to and from FFTW with one shifted copy and no split/merge pass.
/// `shape` is the logical shape (elements, not floats); `data.count` is `count` for real and `2 * count` for complex.
public struct Buffer: Equatable, Sendable {
    /// Logical shape, outermost first (e.g. [H, W] for an image, [C, H, W] for multi-coil k-space).
    public var shape: [Int]
    /// Whether each element is a complex pair.
    public var isComplex: Bool
    /// Elements; interleaved re/im pairs when `isComplex`.
    public var data: [Float]

    /// A zero buffer.
    public init(shape: [Int], isComplex: Bool) {
        self.shape = shape
        self.isComplex = isComplex
        self.data = [Float](repeating: 0, count: shape.reduce(1, *) * (isComplex ? 2 : 1))
    }

    /// A buffer over existing floats (interleaved when complex); the count must match the shape.
    public init(shape: [Int], isComplex: Bool, data: [Float]) {
        precondition(data.count == shape.reduce(1, *) * (isComplex ? 2 : 1),
                     "Buffer: \(data.count) floats do not fill a \(isComplex ? "complex" : "real") \(shape)")
        self.shape = shape
        self.isComplex = isComplex
        self.data = data
    }

    /// A real buffer holding a tensor's elements under the tensor's shape.
    public init(_ tensor: Tensor) { self.init(shape: tensor.shape, isComplex: false, data: tensor.data) }

    /// A complex buffer from separate real and imaginary parts of the same length.
    public init(shape: [Int], real: [Float], imag: [Float]) {
        precondition(real.count == imag.count && real.count == shape.reduce(1, *),
                     "Buffer: real \(real.count) and imaginary \(imag.count) parts for shape \(shape)")
        var d = [Float](repeating: 0, count: 2 * real.count)
        for i in 0..<real.count {
            d[2 * i] = real[i]
            d[2 * i + 1] = imag[i]
        }
        self.init(shape: shape, isComplex: true, data: d)
    }

    /// Number of logical elements.
    @inlinable public var count: Int { isComplex ? data.count / 2 : data.count }

    /// Real parts (a copy of the data for a real buffer).
    public var real: [Float] {
        guard isComplex else { return data }
        return (0..<count).map { data[2 * $0] }
    }

    /// Imaginary parts (zeros for a real buffer).
    public var imag: [Float] {
        guard isComplex else { return [Float](repeating: 0, count: count) }
        return (0..<count).map { data[2 * $0 + 1] }
    }

    /// Element magnitudes |z| (absolute values for a real buffer).
    public var magnitude: [Float] {
        guard isComplex else { return data.map { abs($0) } }
        return (0..<count).map { i -> Float in
            let (re, im) = (data[2 * i], data[2 * i + 1])
            return (re * re + im * im).squareRoot()
        }
    }

    /// The real part as a tensor of `shape` (the buffer's own shape when nil).
    public func realTensor(shape: [Int]? = nil) -> Tensor {
        Tensor(shape: shape ?? self.shape, data: real)
    }

    /// The same values as a complex buffer (imaginary parts zero); a complex buffer is returned as is.
    public func complexified() -> Buffer {
        guard !isComplex else { return self }
        var d = [Float](repeating: 0, count: 2 * data.count)
        for i in 0..<data.count { d[2 * i] = data[i] }
        return Buffer(shape: shape, isComplex: true, data: d)
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Buffer {
        Buffer(shape: newShape, isComplex: isComplex, data: data)
    }
}
