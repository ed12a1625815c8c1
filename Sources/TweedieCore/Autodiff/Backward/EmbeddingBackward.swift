/// Gradient of `embedding(indices, table:)`: row i of dy is added into table row indices[i] (scatter-add;
/// repeated indices accumulate). Returns a [V, D] gradient for a table of `tableShape`.
public func embeddingBackward(gradOutput dy: Tensor, indices: [Int], tableShape: [Int]) -> Tensor {
    var out = Tensor(shape: tableShape)
    out.withUnsafeMutableBufferPointer { scatterAddRows(dy, indices: indices, into: $0) }
    return out
}

/// table[indices[i]] += dy[i] for a [V, D] buffer. Threaded over column blocks so repeated indices never race.
func scatterAddRows(_ dy: Tensor, indices: [Int], into table: UnsafeMutableBufferPointer<Float>) {
    let d = dy.shape.last ?? 0
    precondition(dy.count == indices.count * d && d > 0 && table.count % d == 0,
                 "embeddingBackward: gradient \(dy.shape) for \(indices.count) indices")
    let vocabulary = table.count / d
    for i in indices { precondition(i >= 0 && i < vocabulary, "embeddingBackward: index \(i) outside 0..<\(vocabulary)") }
    dy.withUnsafeBufferPointer { pd in
        let block = 256, blocks = (d + block - 1) / block
        GradLoops.tasks(blocks, work: indices.count * block) { b in
            let c0 = b * block, c1 = min(d, c0 + block)
            for (row, index) in indices.enumerated() {
                let src = pd.baseAddress! + row * d, dst = table.baseAddress! + index * d
                for ch in c0..<c1 { dst[ch] += src[ch] }
            }
        }
    }
}
