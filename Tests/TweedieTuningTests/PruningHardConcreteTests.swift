import XCTest
import TweedieCore
import TweedieTestSupport
import TweedieTuning

/// The hard-concrete gate against values worked by hand (Python's math in double, rounded to 7 digits).
final class PruningHardConcreteTests: XCTestCase {
    func testMasksMatchHandValues() {
        let g = HardConcrete()  // β 0.83, γ −0.1, ζ 1.1, ε 0.5
        // (λ, u, m): s = σ((log(u + ε) − log(1 − u + ε) + λ)/β), m = clamp(1.2 s − 0.1, 0, 1).
        let cases: [(Float, Float, Float)] = [(0, 0.5, 0.5), (0, 0.25, 0.3209797), (1, 0.9, 0.9830363),
                                              (2, 0.1, 0.8604803), (3, 0.5, 1), (-3, 0.5, 0)]
        for (l, u, m) in cases {
            // Float rounding of the result only (the computation runs in Double): within 1e-7.
            XCTAssertLessThanOrEqual(abs(g.mask(logit: l, uniform: u) - m), 1e-6, "λ \(l), u \(u)")
        }
        // ε = 0: the textbook gate with unbounded logistic noise.
        let plain = HardConcrete(eps: 0)
        XCTAssertLessThanOrEqual(abs(plain.mask(logit: 0, uniform: 0.25) - 0.1522581), 1e-6)
        XCTAssertLessThanOrEqual(abs(plain.mask(logit: 0.5, uniform: 0.8) - 0.9879031), 1e-6)
        // P(m > 0) = σ(λ − β log(−γ/ζ)).
        for (l, p) in [(Float(0), 0.8797699), (3, 0.9932420), (-3, 0.2670294)] {
            XCTAssertLessThanOrEqual(abs(g.keepProbability(logit: l) - p), 1e-7, "keep probability at λ \(l)")
        }
    }

    func testTapeGateMatchesScalarValuesAndSlope() {
        let g = HardConcrete()
        let tape = Tape()
        let lam = tape.leaf(Tensor(shape: [4], data: [0, 0, 3, -3]), requiresGrad: true)
        let u = Tensor(shape: [4], data: [0.5, 0.25, 0.5, 0.5])
        let m = g.sample(tape, logits: lam, uniform: u)
        XCTAssertEqual(m.value.data, (0..<4).map { g.mask(logit: lam.value.data[$0], uniform: u.data[$0]) })
        let grad = tape.gradients(of: tape.sum(m), wrt: [lam])[0].data
        // dm/dλ = (ζ − γ)·s(1 − s)/β inside (0, 1): 1.2·¼/0.83 at s = ½, 0.3292688 at u = ¼; 0 where clamped.
        XCTAssertLessThanOrEqual(abs(grad[0] - 0.3614458), 1e-6)
        XCTAssertLessThanOrEqual(abs(grad[1] - 0.3292688), 1e-6)
        XCTAssertEqual(Array(grad[2...]), [0, 0])
    }

    func testRegularizerIsTheParameterWeightedKeepShare() {
        let g = HardConcrete()
        let r = PruningRegularizer(gate: g, counts: [2, 1], parametersPerUnit: [10, 30])
        let logits = [Tensor(shape: [2], data: [0, 3]), Tensor(shape: [1], data: [-3])]
        let want = (10 * 0.8797699 + 10 * 0.9932420 + 30 * 0.2670294) / 50
        XCTAssertLessThanOrEqual(abs(r.value(logits) - want), 1e-7)
        // The gradient against a central difference of the value (h = 2⁻¹⁰ is exact in Float; the value is summed
        // in Double, so the quotient is good to its truncation error, ~1e-7).
        let grad = r.gradient(logits)
        let h: Float = 1.0 / 1024
        for (i, j) in [(0, 0), (0, 1), (1, 0)] {
            var plus = logits, minus = logits
            plus[i].data[j] += h
            minus[i].data[j] -= h
            let numeric = (r.value(plus) - r.value(minus)) / Double(2 * h)
            XCTAssertLessThanOrEqual(abs(Double(grad[i].data[j]) - numeric), 1e-5 * max(abs(numeric), 1e-3))
        }
    }
}
