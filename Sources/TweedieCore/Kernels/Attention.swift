
/// Multi-head scaled dot-product attention. `q` is [N, Lq, C], `k` and `v` are [N, Lk, C]; the channels split
/// into `heads` slices of C/heads. Each head computes softmax(Q·Kᵀ·scale)·V with `scale` defaulting to
/// 1/sqrt(C/heads); the heads are merged back into [N, Lq, C].
public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float? = nil) -> Tensor {
    precondition(q.rank == 3 && k.rank == 3 && v.rank == 3,
                 "attention: q, k, v must be [N, L, C], got \(q.shape), \(k.shape), \(v.shape)")
    let (n, lq, c) = (q.shape[0], q.shape[1], q.shape[2])
    let lk = k.shape[1]
    precondition(k.shape == [n, lk, c] && v.shape == [n, lk, c],
                 "attention: k \(k.shape) and v \(v.shape) must be [\(n), Lk, \(c)] like q \(q.shape)")
    precondition(heads > 0 && c % heads == 0, "attention: \(c) channels do not split into \(heads) heads")
    let d = c / heads
    let alpha = scale ?? 1 / Float(d).squareRoot()
    let plan = AttentionPlan(batch: n, heads: heads, queries: lq, keys: lk, channels: c)

    return Tensor(shape: [n, lq, c]) { out in
        guard let po = out.baseAddress, lk > 0, d > 0 else {
            if let po = out.baseAddress { po.update(repeating: 0, count: out.count) }
            return
        }
        q.withUnsafeBufferPointer { pq in
            k.withUnsafeBufferPointer { pk in
                v.withUnsafeBufferPointer { pv in
                    plan.run { task, scores in
                        let (b, h, q0, rows) = plan.task(task)
                        // Head slices are read in place from the [N, L, C] layout through the row stride C.
                        let headQ = pq.baseAddress! + (b * lq + q0) * c + h * d
                        let headK = pk.baseAddress! + b * lk * c + h * d
                        let headV = pv.baseAddress! + b * lk * c + h * d
                        sgemm(transB: true, m: rows, n: lk, k: d, alpha: alpha,
                              a: headQ, lda: c, b: headK, ldb: c, c: scores, ldc: lk)
                        for r in 0..<rows { softmaxRow(scores + r * lk, scores + r * lk, lk) }
                        sgemm(m: rows, n: d, k: lk, a: scores, lda: lk, b: headV, ldb: c,
                              c: po + (b * lq + q0) * c + h * d, ldc: c)
                    }
                }
            }
        }
    }
}

/// How attention work is cut: (sample, head, block of query rows) tasks run in parallel with single-threaded
/// GEMMs (many small GEMMs scale better across workers than each GEMM split across threads). Each block's
/// score matrix stays cache-sized while the GEMMs still amortise packing K and V over many query rows.
struct AttentionPlan {
    let batch, heads, queries, keys, channels: Int
    let blockRows: Int
    let blocksPerHead: Int

    init(batch: Int, heads: Int, queries: Int, keys: Int, channels: Int) {
        self.batch = batch
        self.heads = heads
        self.queries = queries
        self.keys = keys
        self.channels = channels
        // At least 256 query rows (packing K and V costs as much as ~100 rows of work), more up to 256K scores
        // when keys are few; with fewer (sample, head) pairs than workers, cut finer to feed every worker.
        let minRows = 256, budget = 256 * 1024
        var rows = max(minRows, budget / max(1, keys))
        let pairs = batch * heads, workers = Runtime.threads
        if pairs < 2 * workers {
            rows = min(rows, max(minRows / 2, queries * pairs / (2 * workers)))
        }
        blockRows = max(1, min(queries, rows))
        blocksPerHead = (queries + blockRows - 1) / blockRows
    }

    var taskCount: Int { batch * heads * blocksPerHead }

    /// Sample, head, first query row and row count of task `t`.
    func task(_ t: Int) -> (Int, Int, Int, Int) {
        let block = t % blocksPerHead, pair = t / blocksPerHead
        let q0 = block * blockRows
        return (pair / heads, pair % heads, q0, min(blockRows, queries - q0))
    }

    /// Runs every task with a per-worker score buffer of blockRows × keys floats.
    func run(_ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        forEachTask(taskCount, scratch: blockRows * keys, body)
    }
}
