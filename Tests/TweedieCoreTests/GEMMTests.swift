import XCTest
import TweedieCore

final class GEMMTests: XCTestCase {
    /// sgemm against a naive triple loop in Float64, all four transpose combinations.
    func testMatmulMatchesNaive() {
        var g = SplitMix64(seed: 1)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let m = 7, n = 5, k = 11
            let a = Tensor(shape: ta ? [k, m] : [m, k], data: (0..<(m * k)).map { _ in g.signedUnitFloat() })
            let b = Tensor(shape: tb ? [n, k] : [k, n], data: (0..<(k * n)).map { _ in g.signedUnitFloat() })
            let c = matmul(a, b, transA: ta, transB: tb)
            for i in 0..<m { for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = ta ? a.data[p * m + i] : a.data[i * k + p]
                    let bv = tb ? b.data[j * k + p] : b.data[p * n + j]
                    s += Double(av) * Double(bv)
                }
                XCTAssertEqual(Double(c.data[i * n + j]), s, accuracy: 1e-5)
            } }
        }
    }

    /// Both GEMM backends against Float64 on shapes above the libraries' small-matrix paths, with strided
    /// leading dimensions, alpha and beta (relative error near Float32 rounding over k = 300 terms).
    func testBackendsAgreeWithFloat64() {
        let saved = GEMMBackend.current
        defer { GEMMBackend.current = saved }
        var g = SplitMix64(seed: 2)
        let m = 67, n = 45, k = 300, lda = k + 3, ldb = n + 5, ldc = n + 2
        let a = (0..<(m * lda)).map { _ in g.signedUnitFloat() }, b = (0..<(k * ldb)).map { _ in g.signedUnitFloat() }
        let c0 = (0..<(m * ldc)).map { _ in g.signedUnitFloat() }
        for backend in GEMMBackend.allCases {
            GEMMBackend.current = backend
            var c = c0
            sgemm(m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, beta: 2, c: &c, ldc: ldc)
            var worst = 0.0
            for i in 0..<m { for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
                let want = 0.5 * s + 2 * Double(c0[i * ldc + j])
                worst = max(worst, abs(Double(c[i * ldc + j]) - want))
            } }
            print("gemm \(backend.rawValue): max abs error \(worst)")
            XCTAssertLessThan(worst, 2e-5, "\(backend.rawValue): max abs error \(worst)")
            XCTAssertEqual(c[n], c0[n], "\(backend.rawValue) wrote into the padding of row 0")
        }
    }
}
