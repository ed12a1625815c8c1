import Foundation
import XCTest
import TweedieCore
import TweedieTestSupport
import TweedieTuning

/// ZOODiP's pieces on problems with known answers: regenerated directions, the forward-difference estimate on a
/// quadratic, the subspace projection, the PUTS band and the normalisation.
final class ZerothOrderTests: XCTestCase {
    func testDirectionsAreRegeneratedBitIdentically() {
        let a = GaussianDirections(seed: 42, dimension: 7), b = GaussianDirections(seed: 42, dimension: 7)
        XCTAssertEqual(a.direction(step: 3, index: 1).map(\.bitPattern), b.direction(step: 3, index: 1).map(\.bitPattern))
        XCTAssertNotEqual(a.direction(step: 3, index: 1), a.direction(step: 3, index: 0))
        XCTAssertNotEqual(a.direction(step: 3, index: 1), a.direction(step: 4, index: 1))
        XCTAssertNotEqual(a.direction(step: 3, index: 1), GaussianDirections(seed: 43, dimension: 7).direction(step: 3, index: 1))
        // The bits of one direction as this build draws them: a change to the generator (and so to every stored
        // run's directions) fails here.
        XCTAssertEqual(a.direction(step: 0, index: 0).map(\.bitPattern), Self.storedBits)
        // A prefix of a longer direction is the shorter one (block-wise counters).
        XCTAssertEqual(Array(GaussianDirections(seed: 42, dimension: 30).direction(step: 0, index: 0).prefix(7)),
                       a.direction(step: 0, index: 0))
        // Standard normal: mean 0 and variance 1 over 40,000 draws, within 5 standard errors.
        let z = GaussianDirections(seed: 7, dimension: 40_000).direction(step: 0, index: 0).map(Double.init)
        let mean = z.reduce(0, +) / Double(z.count)
        let variance = z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(z.count - 1)
        XCTAssertLessThan(abs(mean), 5 / 200)
        XCTAssertLessThan(abs(variance - 1), 5 * (2.0 / 40_000).squareRoot())
    }

    static let storedBits: [UInt32] = [1056972190, 1050780582, 3189988341, 1074558867, 3199390426, 3174428142, 3173175738]

    /// L(θ) = ½ Σ a_j θ_j² + b·θ: the mean estimate (1/n) Σ δ_i z_i tends to the gradient a ⊙ θ + b, its error
    /// falling like √(d/n).
    func testEstimateConvergesToTheGradientOfAQuadratic() {
        let d = 16
        let a = (0..<d).map { 0.5 + Double($0) / 8 }, b = (0..<d).map { Double($0 % 5) - 2 }
        let theta: [Float] = (0..<d).map { Float($0 % 7) / 7 - 0.4 }
        func loss(_ x: [Float]) -> Double {
            var sum = 0.0
            for j in 0..<d {
                let v = Double(x[j])
                sum += 0.5 * a[j] * v * v + b[j] * v
            }
            return sum
        }
        let truth: [Double] = (0..<d).map { a[$0] * Double(theta[$0]) + b[$0] }
        let norm = truth.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        var errors: [Double] = []
        for n in [4, 64, 1024, 16384] {
            let e = ForwardDifference(directions: n, mu: 1e-3)
                .estimate(at: theta, step: 0, stream: GaussianDirections(seed: 5, dimension: d), loss: loss)
            XCTAssertEqual(e.evaluations, n + 1)
            XCTAssertEqual(e.loss, loss(theta))
            var err = 0.0
            for j in 0..<d { err += (Double(e.gradient[j]) - truth[j]) * (Double(e.gradient[j]) - truth[j]) }
            errors.append(err.squareRoot() / norm)
        }
        for k in 1..<errors.count { XCTAssertLessThan(errors[k], errors[k - 1], "error must fall with n: \(errors)") }
        // Measured 2.8e-2 relative at n = 16384 (about √(d/n) ≈ 3e-2).
        assertMeasured(errors.last!, tolerance: 0.15, "ZO estimate vs gradient of a quadratic, n 16384")
    }

    func testZoodipScale() {
        XCTAssertEqual(ForwardDifference.zoodipScale(directions: 2, effectiveDimension: 128), Float((2.0 / 129).squareRoot()))
        XCTAssertEqual(ForwardDifference.zoodipScale(directions: 1, effectiveDimension: 768), Float((1.0 / 768).squareRoot()))
    }

    /// Four snapshots in 3-D: ±2 along x, ±0.1 along y, nothing along z. Explained variances 8/3 and 0.02/3
    /// (ratios 0.9975 and 0.0025); z lies outside their span.
    func testSubspaceProjectionMatchesHandValues() {
        let snaps: [[Float]] = [[2, 0, 0], [-2, 0, 0], [0, 0.1, 0], [0, -0.1, 0]]
        let comps = SubspaceGradient.components(of: snaps)
        XCTAssertEqual(comps.count, 2, "z is outside the span")
        XCTAssertEqual(comps[0].variance, 8.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(comps[1].variance, 0.02 / 3, accuracy: 1e-6)
        XCTAssertEqual(abs(comps[0].direction[0]), 1, accuracy: 1e-6)
        XCTAssertEqual(abs(comps[1].direction[1]), 1, accuracy: 1e-6)
        // ν = 0.99: the first ratio already exceeds 1 − ν = 0.01, so one component is kept and y removed.
        XCTAssertEqual(SubspaceGradient.keptCount(variances: comps.map(\.variance), nu: 0.99), 1)
        // ν = 1e-3: 0.9975 < 0.999, so both are kept.
        XCTAssertEqual(SubspaceGradient.keptCount(variances: comps.map(\.variance), nu: 1e-3), 2)

        let s = SubspaceGradient(dimension: 3, window: 4, nu: 0.99)
        for x in snaps.prefix(3) { s.record(x) }
        XCTAssertEqual(s.project([1, 2, 3]), [1, 2, 3], "nothing is removed before the first τ records")
        s.record(snaps[3])
        XCTAssertEqual(s.effectiveDimension, 2)
        let p = s.project([1, 2, 3])
        XCTAssertEqual(p[0], 1, accuracy: 1e-6)
        XCTAssertEqual(p[1], 0, accuracy: 1e-6)
        XCTAssertEqual(p[2], 3, accuracy: 1e-6)
        XCTAssertEqual(s.project(p), p, "a projection is idempotent")

        let keep = SubspaceGradient(dimension: 3, window: 4, nu: 1e-3)
        for x in snaps { keep.record(x) }
        XCTAssertEqual(keep.effectiveDimension, 3)
        XCTAssertEqual(keep.project([1, 2, 3]), [1, 2, 3])
    }

    func testJacobiOnHandValues() {
        let (values, vectors) = SymmetricEigen.decompose([2, 1, 1, 2], n: 2)
        XCTAssertEqual(values[0], 3, accuracy: 1e-12)
        XCTAssertEqual(values[1], 1, accuracy: 1e-12)
        XCTAssertEqual(abs(vectors[0][0]), 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(vectors[0][0] * vectors[0][1], 0.5, accuracy: 1e-12)
    }

    /// PUTS on Stable Diffusion's own schedule is the official band; on the bundled DDPM schedule it is the band
    /// with the same noise levels.
    func testPUTSBand() {
        XCTAssertEqual(PartialUniformTimesteps.band(for: PartialUniformTimesteps.stableDiffusionAlphasCumprod), 500..<900)
        let linear = (0..<1000).map { 1e-4 + (0.02 - 1e-4) * Double($0) / 999 }
        var product = 1.0
        let alphas = linear.map { b -> Double in product *= 1 - b; return product }
        XCTAssertEqual(PartialUniformTimesteps.band(for: alphas), 354..<647)
    }
}
