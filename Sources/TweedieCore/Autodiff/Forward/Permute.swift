extension Tensor {
    /// The tensor with its axes reordered: result axis i is axis `axes[i]` of `self` (like torch `permute`).
    /// Its gradient is the permutation by the inverse order. Threaded over the outer result index.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank && Set(axes) == Set(0..<rank),
                     "permuted: \(axes) is not a permutation of the \(rank) axes of \(shape)")
        let outShape = axes.map { shape[$0] }
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let strides = axes.map { inStrides[$0] }
        guard rank > 1, count > 0 else { return Tensor(shape: outShape, data: data) }
        // The innermost result axis is copied in a strided run; the outer ones are walked with an odometer.
        let inner = outShape[rank - 1], innerStride = strides[rank - 1]
        let outer = count / inner
        return Tensor(shape: outShape) { out in
            self.withUnsafeBufferPointer { src in
                parallelChunks(outer, minChunk: max(1, 4096 / max(1, inner))) { range in
                    var index = [Int](repeating: 0, count: rank - 1)
                    var rest = range.lowerBound
                    var offset = 0
                    for a in stride(from: rank - 2, through: 0, by: -1) {
                        index[a] = rest % outShape[a]
                        rest /= outShape[a]
                        offset += index[a] * strides[a]
                    }
                    for o in range {
                        let dst = out.baseAddress! + o * inner, s = src.baseAddress! + offset
                        if innerStride == 1 {
                            dst.update(from: s, count: inner)
                        } else {
                            for j in 0..<inner { dst[j] = s[j * innerStride] }
                        }
                        var a = rank - 2
                        while a >= 0 {
                            index[a] += 1
                            offset += strides[a]
                            if index[a] < outShape[a] { break }
                            offset -= index[a] * strides[a]
                            index[a] = 0
                            a -= 1
                        }
                    }
                }
            }
        }
    }
}
