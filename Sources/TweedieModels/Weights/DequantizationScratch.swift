import TweedieCore

/// One Float32 buffer that the int8 layers of a forward pass dequantize into, one panel of output channels after
/// another (`Int8Weights.panelBudget` elements at most), so a pass over an int8 model holds at most one panel of
/// Float32 weight and allocates it once, not once per layer call.
///
/// The buffer is a `Tensor` kept uniquely referenced between layers: `weight(of:)` rewrites it in place and hands
/// out a copy that shares its storage for the duration of one kernel call. Whoever receives that copy must not keep
/// it past the call (a kernel that cached it by address would see other contents at the next layer), which is why
/// the int8 provider passes it only to kernels told that the weight is not constant.
///
/// Not thread-safe: a scope, like its tape, belongs to one thread.
public final class DequantizationScratch {
    private var buffer = Tensor(shape: [0])

    /// An empty scratch; it grows to the largest panel it has held.
    public init() {}

    /// Elements the buffer can hold without reallocating.
    public var capacity: Int { buffer.data.capacity }

    /// Output channels `rows` of `weights` dequantized (q · scale) into the buffer, viewed as [rows.count, ...] under
    /// the rest of the weight's shape.
    public func weight(of weights: Int8Weights, rows: Range<Int>) -> Tensor {
        let per = weights.values.count / max(weights.shape[0], 1), n = rows.count * per
        // Resizing keeps the storage: removeLast keeps capacity, and growth past the largest panel so far reserves
        // exactly n first (append alone would double the capacity).
        if buffer.data.count > n {
            buffer.data.removeLast(buffer.data.count - n)
        } else if buffer.data.count < n {
            buffer.data.reserveCapacity(n)
            buffer.data.append(contentsOf: repeatElement(0, count: n - buffer.data.count))
        }
        buffer.shape = [rows.count] + weights.shape.dropFirst()
        buffer.withUnsafeMutableBufferPointer { weights.dequantize(rows: rows, into: $0) }
        return buffer
    }
}
