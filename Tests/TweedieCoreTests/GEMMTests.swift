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
}
