extension Tensor {
    /// NCHW zero padding with separate amounts per side (like torch `F.pad(x, (left, right, top, bottom))`), as
    /// diffusers' encoder downsampler uses before its unpadded stride-2 convolution. Negative amounts crop.
    public func padded2d(left: Int, right: Int, top: Int, bottom: Int) -> Tensor {
        precondition(rank == 4, "padded2d: input must be NCHW, got \(shape)")
        let planes = shape[0] * shape[1], h = shape[2], w = shape[3]
        let ho = h + top + bottom, wo = w + left + right
        precondition(ho > 0 && wo > 0, "padded2d: padding (\(left), \(right), \(top), \(bottom)) empties \(shape)")
        return Tensor(shape: [shape[0], shape[1], ho, wo]) { out in
            guard let po = out.baseAddress else { return }
            self.withUnsafeBufferPointer { src in
                GradLoops.tasks(planes, work: ho * wo) { p in
                    let dst = po + p * ho * wo, plane = src.baseAddress! + p * h * w
                    // Source columns [j0, j1) land at destination columns shifted by `left`.
                    let j0 = max(0, -left), j1 = min(w, wo - left)
                    for i in 0..<ho {
                        let row = dst + i * wo, si = i - top
                        guard si >= 0 && si < h && j1 > j0 else { row.update(repeating: 0, count: wo); continue }
                        if left + j0 > 0 { row.update(repeating: 0, count: left + j0) }
                        (row + left + j0).update(from: plane + si * w + j0, count: j1 - j0)
                        if left + j1 < wo { (row + left + j1).update(repeating: 0, count: wo - left - j1) }
                    }
                }
            }
        }
    }
}
