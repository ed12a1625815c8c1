import CBLAS

/// Gradients of `attention(q:k:v:heads:scale:)` given dL/dO, recomputing the attention weights per block of query
/// rows instead of storing them (memory O(rows·Lk) per worker). Per (sample, head), with P = softmax(α·Q·Kᵀ):
/// dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = α·dS·K, dK = α·dSᵀ·Q.
/// `blockRows` caps the query rows recomputed at once (default: about 1 MiB of weights per block).
public func attentionBackward(gradOutput dO: Tensor, q: Tensor, k: Tensor, v: Tensor, heads: Int,
                              scale: Float? = nil, needQ: Bool = true, needK: Bool = true, needV: Bool = true,
                              blockRows: Int? = nil)
    -> (q: Tensor?, k: Tensor?, v: Tensor?) {
    precondition(q.rank == 3 && k.shape == v.shape && k.rank == 3 && dO.shape == q.shape
                 && k.shape[0] == q.shape[0] && k.shape[2] == q.shape[2] && q.shape[2] % heads == 0,
                 "attentionBackward: q \(q.shape), k \(k.shape), v \(v.shape), gradient \(dO.shape), heads \(heads)")
    let (n, lq, c) = (q.shape[0], q.shape[1], q.shape[2])
    let lk = k.shape[1], d = c / heads
    let alpha = scale ?? 1 / Float(d).squareRoot()
    var gq = [Float](repeating: 0, count: needQ ? q.count : 0)
    var gk = [Float](repeating: 0, count: needK ? k.count : 0)
    var gv = [Float](repeating: 0, count: needV ? v.count : 0)
    let blockRows = max(1, min(lq, blockRows ?? max(16, (1 << 18) / max(1, lk))))
    let pairs = n * heads
    // Enough (sample, head) pairs: one single-threaded GEMM chain per worker scales best; otherwise let
    // OpenBLAS thread each GEMM. Pairs write disjoint column slices of dQ/dK/dV, so they never race.
    let parallelPairs = Runtime.threads > 1 && pairs >= Runtime.threads
    if lk > 0 && d > 0 && (needQ || needK || needV) {
        q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
        dO.withUnsafeBufferPointer { pdo in
        gq.withUnsafeMutableBufferPointer { pgq in gk.withUnsafeMutableBufferPointer { pgk in
        gv.withUnsafeMutableBufferPointer { pgv in
            let oq = pgq.baseAddress, ok = pgk.baseAddress, ov = pgv.baseAddress
            let run = { (pair: Int) in
                let b = pair / heads, h = pair % heads
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * blockRows * lk)
                defer { scratch.deallocate() }
                let probs = scratch, dProbs = scratch + blockRows * lk
                let kh = pk.baseAddress! + b * lk * c + h * d, vh = pv.baseAddress! + b * lk * c + h * d
                var q0 = 0
                while q0 < lq {
                    let rows = min(blockRows, lq - q0)
                    let qh = pq.baseAddress! + (b * lq + q0) * c + h * d
                    let doh = pdo.baseAddress! + (b * lq + q0) * c + h * d
                    sgemm(transB: true, m: rows, n: lk, k: d, alpha: alpha, a: qh, lda: c, b: kh, ldb: c,
                          c: probs, ldc: lk)
                    for r in 0..<rows { softmaxRow(probs + r * lk, probs + r * lk, lk) }
                    if needV {
                        sgemm(transA: true, m: lk, n: d, k: rows, a: probs, lda: lk, b: doh, ldb: c, beta: 1,
                              c: ov! + b * lk * c + h * d, ldc: c)
                    }
                    if needQ || needK {
                        sgemm(transB: true, m: rows, n: lk, k: d, a: doh, lda: c, b: vh, ldb: c, c: dProbs, ldc: lk)
                        for r in 0..<rows {
                            softmaxRowBackward(probs + r * lk, dProbs + r * lk, dProbs + r * lk, lk)
                        }
                        if needQ {
                            sgemm(m: rows, n: d, k: lk, alpha: alpha, a: dProbs, lda: lk, b: kh, ldb: c,
                                  c: oq! + (b * lq + q0) * c + h * d, ldc: c)
                        }
                        if needK {
                            sgemm(transA: true, m: lk, n: d, k: rows, alpha: alpha, a: dProbs, lda: lk, b: qh,
                                  ldb: c, beta: 1, c: ok! + b * lk * c + h * d, ldc: c)
                        }
                    }
                    q0 += rows
                }
            }
            if parallelPairs {
                openblas_set_num_threads(1)
                defer { openblas_set_num_threads(Int32(Runtime.threads)) }
                parallelFor(pairs, run)
            } else {
                for pair in 0..<pairs { run(pair) }
            }
        } } }
        } } } }
    }
    return (needQ ? Tensor(shape: q.shape, data: gq) : nil, needK ? Tensor(shape: k.shape, data: gk) : nil,
            needV ? Tensor(shape: v.shape, data: gv) : nil)
}
