import CBLAS
import CDNNL
#if canImport(Glibc)
import Glibc
#endif

/// Which library runs `sgemm`. Both are Float32 GEMMs; they differ in blocking and summation order, so results
/// agree to rounding, not bit for bit.
public enum GEMMBackend: String, CaseIterable, Sendable {
    /// OpenBLAS (`cblas_sgemm`), on OpenBLAS's own pthread pool. The default, and what the goldens were made with.
    case openBLAS = "openblas"
    /// oneDNN's `dnnl_sgemm` (JIT kernels for the CPU found at run time), on the same libgomp team as the
    /// convolutions and the engine's loops: one thread pool for the whole call.
    case oneDNN = "onednn"

    nonisolated(unsafe) private static var selected: GEMMBackend = initial()

    /// The backend in use; `TWEEDIE_GEMM=onednn` (or `openblas`) chooses it for a whole run.
    public static var current: GEMMBackend {
        get { selected }
        set { selected = newValue }
    }

    private static func initial() -> GEMMBackend {
        getenv("TWEEDIE_GEMM").flatMap { GEMMBackend(rawValue: String(cString: $0)) } ?? .openBLAS
    }

    /// Row-major C = alpha op(A) op(B) + beta C through oneDNN, on as many threads as OpenBLAS would use now
    /// (task-parallel regions set that to one, so a GEMM inside a worker stays on its worker).
    @usableFromInline
    static func dnnlSGEMM(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                          _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                          _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        OpenMPTeam.setThreads(Int(openblas_get_num_threads()))
        let status = dnnl_sgemm(transA ? 84 : 78, transB ? 84 : 78, Int64(m), Int64(n), Int64(k), alpha, a,
                                Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        precondition(status == dnnl_success, "oneDNN: sgemm \(m)x\(n)x\(k) failed (status \(status.rawValue))")
    }
}
