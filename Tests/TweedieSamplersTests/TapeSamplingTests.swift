import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieSamplers

/// Euler on the tape: the same trajectory as the sampler, gradients that agree with finite differences, bitwise
/// equal gradients under per-step checkpointing, and truncation that cuts the early steps from the gradient path.
final class TapeSamplingTests: XCTestCase {
    private let sigmas: [Float] = [8, 3.5, 1.6, 0.7, 0.25, 0]
    private let s2: Float = 0.5  // data variance of the Gaussian part

    /// Inputs: x_T [2, 4], mean mu [2, 4], mixing weight W [4, 4].
    private func inputs() -> [Tensor] {
        func t(_ shape: [Int], _ seed: Int, _ scale: Float) -> Tensor {
            let n = shape.reduce(1, *)
            return Tensor(shape: shape, data: (0..<n).map { scale * sin(Float(seed * 31 + $0 * 7) * 0.37) })
        }
        return [t([2, 4], 1, 6), t([2, 4], 2, 0.8), t([4, 4], 3, 0.5)]
    }

    /// D(x, σ) = a x + (1 − a) μ + 0.1 silu(x Wᵀ), a = s²/(s² + σ²): the exact Gaussian denoiser plus a nonlinear,
    /// parameterised part.
    private func tapeDenoiser(_ t: Tape, _ x: Variable, _ sigma: Float, _ p: [Variable]) -> Variable {
        let a = s2 / (s2 + sigma * sigma)
        return t.add(t.add(t.scale(x, a), t.scale(p[0], 1 - a)), t.scale(t.silu(t.linear(x, p[1])), 0.1))
    }

    private func loss(_ xT: Tensor, _ mu: Tensor, _ w: Tensor, checkpoint: Bool = false,
                      last: Int? = nil) -> (value: Float, grads: [Tensor], final: Tensor) {
        let tape = Tape()
        let leaves = [xT, mu, w].map { tape.leaf($0, requiresGrad: true) }
        let out = TapeSampling.euler(tape, x: leaves[0], sigmas: sigmas, inputs: Array(leaves.dropFirst()),
                                     checkpointSteps: checkpoint, gradientSteps: last, denoise: tapeDenoiser)
        let l = tape.sum(tape.mul(out, out))
        return (l.value.data[0], tape.gradients(of: l, wrt: leaves), out.value)
    }

    func testForwardIsTheEulerSampler() throws {
        let (xT, mu, w) = (inputs()[0], inputs()[1], inputs()[2])
        let plain = ClosureDenoiser { x, sigma, _ in
            let t = Tape()
            return self.tapeDenoiser(t, t.constant(x), sigma, [t.constant(mu), t.constant(w)]).value
        }
        let reference = try Samplers.euler(model: plain, x: xT, sigmas: sigmas, condition: .unconditional,
                                           noise: PhiloxNoise(seed: 0), onStep: { _ in .continue })
        let recorded = loss(xT, mu, w).final
        // Measured 6.0e-8 (worst of 5 OpenBLAS kernels).
        assertMeasured(recorded.maxAbsDifference(reference), tolerance: 3e-7 * max(1, reference.maxAbs),
                       "tape Euler vs Samplers.euler")
    }

    func testGradientsMatchFiniteDifferences() {
        let base = inputs()
        let analytic = loss(base[0], base[1], base[2]).grads
        let h: Float = 1e-2
        for (k, tensor) in base.enumerated() {
            for j in stride(from: 0, to: tensor.count, by: 3) {
                var plus = base, minus = base
                plus[k].data[j] += h
                minus[k].data[j] -= h
                let numeric = (loss(plus[0], plus[1], plus[2]).value - loss(minus[0], minus[1], minus[2]).value) / (2 * h)
                let a = analytic[k].data[j]
                XCTAssertEqual(a, numeric, accuracy: 2e-3 * max(1, abs(numeric)), "input \(k) element \(j)")
            }
        }
    }

    func testCheckpointedStepsGiveBitwiseEqualGradients() {
        let base = inputs()
        let plain = loss(base[0], base[1], base[2])
        let recomputed = loss(base[0], base[1], base[2], checkpoint: true)
        XCTAssertEqual(plain.value, recomputed.value)
        XCTAssertEqual(plain.grads, recomputed.grads)
    }

    func testTruncationCutsEarlyStepsOnly() {
        let base = inputs()
        let full = loss(base[0], base[1], base[2])
        let lastTwo = loss(base[0], base[1], base[2], last: 2)
        XCTAssertEqual(lastTwo.final, full.final, "truncation must not change the sample")
        XCTAssert(lastTwo.grads[0].data.allSatisfy { $0 == 0 }, "x_T lies before the gradient window")
        XCTAssert(lastTwo.grads[1].data.contains { $0 != 0 }, "the last steps still read mu")
        XCTAssertNotEqual(lastTwo.grads[1], full.grads[1])
        XCTAssertEqual(loss(base[0], base[1], base[2], last: 10).grads, full.grads, "a window past the start is all steps")
    }
}
