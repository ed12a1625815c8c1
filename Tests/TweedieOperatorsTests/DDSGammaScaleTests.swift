import TweedieCore
import TweedieOperators
import TweedieSamplers
import XCTest

/// `DecomposedDiffusionSampler.effectiveGamma` against the algebra of DDS's proximal step.
final class DDSGammaScaleTests: XCTestCase {
    /// Box down-sampling by s has A Aᴴ = I/s², so from x̂0 = 0 the proximal step (I + γ AᴴA) x = γ Aᴴ y lands on
    /// A x = γ/(s² + γ) · y. With γ = 1 that is y/17 at x4 (why DDS on SR returned almost free samples); with the
    /// effective γ·s² it is y/2, the halfway point the step gives MRI's projection M F.
    func testSuperResolutionStepMovesHalfwayToTheData() throws {
        let op = try DownsampleOperator(height: 16, width: 16, factor: 4)
        var rng = SplitMix64(seed: 3)
        let truth = Buffer(shape: [16, 16], isComplex: false, data: (0..<256).map { _ in Float(2 * rng.uniform() - 1) })
        let y = op.apply(truth)
        let zero = Buffer(shape: [16, 16], isComplex: false)
        XCTAssertEqual(DecomposedDiffusionSampler.effectiveGamma(1, for: op), 16)
        for (gamma, fraction) in [(Float(1), 1.0 / 17), (DecomposedDiffusionSampler.effectiveGamma(1, for: op), 0.5)] {
            let x = DecomposedDiffusionSampler.dataConsistency(zero, operator: op, measurements: y,
                                                               settings: .init(cgIterations: 5, gamma: gamma))
            let ax = op.apply(x)
            var worst = 0.0
            for (a, b) in zip(ax.data, y.data) {
                let d = abs(Double(a) - fraction * Double(b))
                worst = d.isNaN ? .nan : max(worst, d)
            }
            // measured 1.6e-9 (γ 1) and 1.5e-8 (γ 16): CG converges in one step, as b lies where AᴴA = I/s²
            XCTAssertTrue(worst <= 1e-7, "γ \(gamma): A x deviates from \(fraction) y by \(worst)")
        }
    }

    /// Operators whose AᴴA already has eigenvalues in [0, 1] with 1 attained keep γ; CT keeps the official scale.
    func testOtherOperatorsKeepOrScaleGammaAsDocumented() throws {
        let mri = MRIOperator(height: 8, width: 8, mask: [Float](repeating: 1, count: 64))
        XCTAssertEqual(DecomposedDiffusionSampler.effectiveGamma(2, for: mri), 2)
        let blur = try BlurOperator(height: 8, width: 8, kernel: .gaussian(sigma: 1, size: 3))
        XCTAssertEqual(DecomposedDiffusionSampler.effectiveGamma(2, for: blur), 2)
        let ct = try ParallelBeamCT(height: 8, width: 8, views: 16)
        XCTAssertEqual(DecomposedDiffusionSampler.effectiveGamma(2, for: ct), 2 * Float.pi / 32, accuracy: 1e-6)
    }
}
