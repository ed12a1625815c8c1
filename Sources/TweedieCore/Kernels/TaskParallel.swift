import CBLAS
import Synchronization

/// Runs `tasks` independent jobs across `Runtime.threads` workers, handing out task indices dynamically.
/// Each worker gets its own scratch buffer of `scratch` floats. BLAS calls inside the jobs run single-threaded:
/// whole GEMMs per worker scale better than every GEMM split across threads, and nesting both would
/// oversubscribe the cores.
func forEachTask(_ tasks: Int, scratch: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
    let workers = min(Runtime.threads, tasks)
    if workers <= 1 {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratch))
        defer { buffer.deallocate() }
        for t in 0..<tasks { body(t, buffer) }
        return
    }
    openblas_set_num_threads(1)
    defer { openblas_set_num_threads(Int32(Runtime.threads)) }
    let next = Atomic<Int>(0)
    parallelFor(workers) { _ in
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, scratch))
        defer { buffer.deallocate() }
        while true {
            let t = next.add(1, ordering: .relaxed).oldValue
            if t >= tasks { break }
            body(t, buffer)
        }
    }
}
