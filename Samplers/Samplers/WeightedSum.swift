import TweedieCore

// Helpers of the multistep and multi-stage samplers (LMS, DPM-Solver, DPM-Solver++ SDE, UniPC), whose updates
// combine more tensors than `lincomb` takes.

/// sum_k terms[k].tensor * terms[k].weight in one pass; the weights are rounded to Float once.
func weightedSum(_ terms: [(Tensor, Double)]) -> Tensor {
    precondition(!terms.isEmpty, "weightedSum: no terms")
    let shape = terms[0].0.shape
    for (t, _) in terms { precondition(t.shape == shape, "weightedSum: shapes \(shape) and \(t.shape) differ") }
    let weights = terms.map { Float($0.1) }
    return Tensor(shape: shape) { out in
        terms[0].0.withUnsafeBufferPointer { p in
            let w = weights[0]
            for i in 0..<out.count { out[i] = p[i] * w }
        }
        for k in 1..<terms.count {
            terms[k].0.withUnsafeBufferPointer { p in
                let w = weights[k]
                for i in 0..<out.count { out[i] += p[i] * w }
            }
        }
    }
}

/// Splits a noise draw of shape [N, 2, rest...] into its two [N, rest...] halves (per image: the first and the
/// second block of `rest` values).
func splitPairs(_ z: Tensor) -> (Tensor, Tensor) {
    precondition(z.rank >= 2 && z.shape[1] == 2, "splitPairs: expected [N, 2, ...], got \(z.shape)")
    let n = z.shape[0]
    let per = z.count / (2 * max(1, n))
    let shape = [n] + z.shape.dropFirst(2)
    func half(_ k: Int) -> Tensor {
        Tensor(shape: shape) { out in
            z.withUnsafeBufferPointer { p in
                for b in 0..<n {
                    let from = (2 * b + k) * per, to = b * per
                    for i in 0..<per { out[to + i] = p[from + i] }
                }
            }
        }
    }
    return (half(0), half(1))
}

/// Solves the small dense system a x = b (Gaussian elimination with partial pivoting, Float64).
func solveSmallSystem(_ a: [[Double]], _ b: [Double]) -> [Double] {
    let n = b.count
    var m = a, r = b
    for col in 0..<n {
        var pivot = col
        for row in (col + 1)..<max(col + 1, n) where abs(m[row][col]) > abs(m[pivot][col]) { pivot = row }
        if pivot != col { m.swapAt(pivot, col); r.swapAt(pivot, col) }
        for row in (col + 1)..<max(col + 1, n) {
            let f = m[row][col] / m[col][col]
            for k in col..<n { m[row][k] -= f * m[col][k] }
            r[row] -= f * r[col]
        }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
        var s = r[row]
        for k in (row + 1)..<max(row + 1, n) { s -= m[row][k] * x[k] }
        x[row] = s / m[row][row]
    }
    return x
}
