/// Fully connected layer: y = x · weightᵀ + bias over the last dimension.
/// `x` is [..., in], `weight` is [out, in] (PyTorch layout), `bias` is [out]; returns [..., out].
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    precondition(weight.rank == 2, "linear: weight must be [out, in], got \(weight.shape)")
    let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
    precondition(x.rank >= 1 && x.shape[x.rank - 1] == inFeatures,
                 "linear: input \(x.shape) does not end in \(inFeatures) features")
    if let bias { precondition(bias.count == outFeatures, "linear: bias \(bias.shape) for \(outFeatures) outputs") }
    let rows = x.shape.dropLast().reduce(1, *)
    var shape = x.shape
    shape[shape.count - 1] = outFeatures
    return Tensor(shape: shape) { out in
        guard let po = out.baseAddress, rows > 0, outFeatures > 0 else { return }
        // The bias is written first and the GEMM accumulates onto it (beta = 1): one pass over the output.
        if let bias {
            bias.withUnsafeBufferPointer { pb in
                parallelChunks(rows, minChunk: max(1, (1 << 15) / outFeatures)) { range in
                    for r in range { (po + r * outFeatures).update(from: pb.baseAddress!, count: outFeatures) }
                }
            }
        } else if inFeatures == 0 {
            po.update(repeating: 0, count: rows * outFeatures)
        }
        guard inFeatures > 0 else { return }
        // One GEMM per leading (batch) index, so each sample's rows go through a GEMM of the same shape whatever the
        // batch size: OpenBLAS's Haswell/Zen kernels round a row differently depending on where it falls among the
        // kernel's column tiles, and image i of a batch must equal the same image made alone, bit for bit.
        let groups = x.rank >= 2 ? x.shape[0] : 1
        let perGroup = rows / max(groups, 1)
        x.withUnsafeBufferPointer { px in
            weight.withUnsafeBufferPointer { pw in
                for g in 0..<groups where perGroup > 0 {
                    sgemm(transB: true, m: perGroup, n: outFeatures, k: inFeatures,
                          a: px.baseAddress! + g * perGroup * inFeatures, b: pw.baseAddress!,
                          beta: bias == nil ? 0 : 1, c: po + g * perGroup * outFeatures)
                }
            }
        }
    }
}
