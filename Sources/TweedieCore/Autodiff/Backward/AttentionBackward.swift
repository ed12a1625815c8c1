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
    var gq = [Float](repeating: 0, count: needQ ? q.count : 0)
    var gk = [Float](repeating: 0, count: needK ? k.count : 0)
    var gv = [Float](repeating: 0, count: needV ? v.count : 0)
    if lk > 0 && d > 0 && (needQ || needK || needV) {
        q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
        dO.withUnsafeBufferPointer { pdo in
        gq.withUnsafeMutableBufferPointer { pgq in gk.withUnsafeMutableBufferPointer { pgk in
        gv.withUnsafeMutableBufferPointer { pgv in
            let head = AttentionHeadBackward(
                q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, dO: pdo.baseAddress!,
                // Empty arrays may still report a base address: absence is decided by the flags.
                dQ: needQ ? pgq.baseAddress : nil, dK: needK ? pgk.baseAddress : nil,
                dV: needV ? pgv.baseAddress : nil, heads: heads, queries: lq, keys: lk,
                channels: c, alpha: scale ?? 1 / Float(d).squareRoot(),
                blockRows: max(1, min(lq, blockRows ?? max(16, (1 << 18) / lk))))
            head.run(pairs: n * heads)
        } } }
        } } } }
    }
    return (needQ ? Tensor(shape: q.shape, data: gq) : nil, needK ? Tensor(shape: k.shape, data: gk) : nil,
            needV ? Tensor(shape: v.shape, data: gv) : nil)
}

/// The backward pass of one (sample, head) pair over a range of query rows, and how pairs and rows are spread
/// over the workers. Head slices are read and written in place through the row stride C.
struct AttentionHeadBackward {
    let q, k, v, dO: UnsafePointer<Float>
    let dQ, dK, dV: UnsafeMutablePointer<Float>?
    let heads, queries, keys, channels: Int
    let alpha: Float
    let blockRows: Int

    var d: Int { channels / heads }

    /// With at least one pair per worker, each worker runs whole pairs (they write disjoint column slices).
    /// Otherwise each pair's query rows are split over the workers, with private dK/dV partials summed afterwards.
    /// Either way the GEMMs inside run single-threaded: many small GEMMs scale better than split ones.
    func run(pairs: Int) {
        let workers = Runtime.threads
        guard workers > 1 else {
            for p in 0..<pairs { rows(pair: p, 0..<queries, dK: dKSlice(p), dV: dVSlice(p), ld: channels) }
            return
        }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(workers)) }
        if pairs >= workers {
            parallelFor(pairs) { p in rows(pair: p, 0..<queries, dK: dKSlice(p), dV: dVSlice(p), ld: channels) }
            return
        }
        let slices = min(workers, max(1, queries))
        let partSize = keys * d
        let parts = UnsafeMutablePointer<Float>.allocate(capacity: 2 * slices * partSize)
        defer { parts.deallocate() }
        for p in 0..<pairs {
            parts.update(repeating: 0, count: 2 * slices * partSize)
            parallelFor(slices) { s in
                let range = (queries * s / slices)..<(queries * (s + 1) / slices)
                rows(pair: p, range, dK: dK == nil ? nil : parts + s * partSize,
                     dV: dV == nil ? nil : parts + (slices + s) * partSize, ld: d)
            }
            // Sum the partials into the strided head slices, rows of keys in parallel.
            parallelFor(keys, grain: max(1, 4096 / max(1, d))) { j in
                for (dst, base) in [(dKSlice(p), 0), (dVSlice(p), slices)] {
                    guard let dst else { continue }
                    let row = dst + j * channels
                    for s in 0..<slices {
                        let src = parts + (base + s) * partSize + j * d
                        for i in 0..<d { row[i] += src[i] }
                    }
                }
            }
        }
    }

    func dKSlice(_ pair: Int) -> UnsafeMutablePointer<Float>? {
        dK.map { $0 + (pair / heads) * keys * channels + (pair % heads) * d }
    }

    func dVSlice(_ pair: Int) -> UnsafeMutablePointer<Float>? {
        dV.map { $0 + (pair / heads) * keys * channels + (pair % heads) * d }
    }

    /// Backward of query rows `range` of one pair: dQ rows are written, dK/dV (leading dimension `ld`) accumulated.
    func rows(pair: Int, _ range: Range<Int>, dK dKh: UnsafeMutablePointer<Float>?,
              dV dVh: UnsafeMutablePointer<Float>?, ld: Int) {
        guard !range.isEmpty else { return }
        let b = pair / heads, h = pair % heads, d = self.d, lk = keys, c = channels
        let block = min(blockRows, range.count)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * block * lk)
        defer { scratch.deallocate() }
        let probs = scratch, dProbs = scratch + block * lk
        let kh = k + b * lk * c + h * d, vh = v + b * lk * c + h * d
        var q0 = range.lowerBound
        while q0 < range.upperBound {
            let m = min(block, range.upperBound - q0)
            let qh = q + (b * queries + q0) * c + h * d, doh = dO + (b * queries + q0) * c + h * d
            sgemm(transB: true, m: m, n: lk, k: d, alpha: alpha, a: qh, lda: c, b: kh, ldb: c, c: probs, ldc: lk)
            for r in 0..<m { softmaxRow(probs + r * lk, probs + r * lk, lk) }
            if let dVh {
                sgemm(transA: true, m: lk, n: d, k: m, a: probs, lda: lk, b: doh, ldb: c, beta: 1, c: dVh, ldc: ld)
            }
            if dQ != nil || dKh != nil {
                sgemm(transB: true, m: m, n: lk, k: d, a: doh, lda: c, b: vh, ldb: c, c: dProbs, ldc: lk)
                for r in 0..<m { softmaxRowBackward(probs + r * lk, dProbs + r * lk, dProbs + r * lk, lk) }
                if let dQ {
                    sgemm(m: m, n: d, k: lk, alpha: alpha, a: dProbs, lda: lk, b: kh, ldb: c,
                          c: dQ + (b * queries + q0) * c + h * d, ldc: c)
                }
                if let dKh {
                    sgemm(transA: true, m: lk, n: d, k: m, alpha: alpha, a: dProbs, lda: lk, b: qh, ldb: c, beta: 1,
                          c: dKh, ldc: ld)
                }
            }
            q0 += m
        }
    }
}
