import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieSamplers

/// DDIM on the tape: the trajectory of the DDIM samplers (clipped and not), gradients that agree with finite
/// differences, steps without gradients that detach the denoiser but keep the latent path, and checkpointing that
/// changes no bit.
final class TapeDDIMTests: XCTestCase {
    private let sigmas: [Float] = [8, 3.5, 1.6, 0.7, 0.25, 0]
    private let s2: Float = 0.5

    /// x_T [2, 4], mean mu [2, 4], mixing weight W [4, 4].
    private func inputs() -> [Tensor] {
        func t(_ shape: [Int], _ seed: Int, _ scale: Float) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { scale * sin(Float(seed * 31 + $0 * 7) * 0.37) })
        }
        return [t([2, 4], 1, 6), t([2, 4], 2, 0.8), t([4, 4], 3, 0.5)]
    }

    /// The exact Gaussian denoiser plus a nonlinear, parameterised part (as TapeSamplingTests).
    private func denoiser(_ t: Tape, _ x: Variable, _ sigma: Float, _ p: [Variable]) -> Variable {
        let a = s2 / (s2 + sigma * sigma)
        return t.add(t.add(t.scale(x, a), t.scale(p[0], 1 - a)), t.scale(t.silu(t.linear(x, p[1])), 0.1))
    }

    private func run(_ xs: [Tensor], clip: Float? = nil, checkpoint: Bool = false,
                     mask: [Bool]? = nil) -> (value: Double, grads: [Tensor], final: Tensor) {
        let tape = Tape()
        let leaves = xs.map { tape.leaf($0, requiresGrad: true) }
        let out = TapeSampling.ddim(tape, x: leaves[0], sigmas: sigmas, inputs: Array(leaves.dropFirst()), clip: clip,
                                    checkpointSteps: checkpoint, gradientSteps: mask, denoise: denoiser)
        let l = tape.sum(tape.mul(out, out))
        let value = out.value.data.reduce(0.0) { $0 + Double($1) * Double($1) }
        return (value, tape.gradients(of: l, wrt: leaves), out.value)
    }

    private func plainDenoiser(_ mu: Tensor, _ w: Tensor) -> ClosureDenoiser {
        ClosureDenoiser { x, sigma, _ in
            let t = Tape()
            return self.denoiser(t, t.constant(x), sigma, [t.constant(mu), t.constant(w)]).value
        }
    }

    func testForwardIsTheDDIMSamplerWithAndWithoutClipping() throws {
        let xs = inputs()
        let model = plainDenoiser(xs[1], xs[2])
        let ddim = try Samplers.ddim(eta: 0)(model, xs[0], sigmas, .unconditional, PhiloxNoise(seed: 0)) { _ in .continue }
        // Measured 6.0e-8 (float32 rounding of the two step forms).
        assertMeasured(run(xs).final.maxAbsDifference(ddim), tolerance: 6e-7 * max(1, ddim.maxAbs), "tape DDIM vs ddim")
        // A clip the estimates cross at the early steps: the clamped x0 with the raw direction, as diffusers.
        // Measured 0 (the same operations in the same order).
        let clipped = try ClippedDDIM.sampler(eta: 0, clip: 0.5)(model, xs[0], sigmas, .unconditional,
                                                                  PhiloxNoise(seed: 0)) { _ in .continue }
        assertMeasured(run(xs, clip: 0.5).final.maxAbsDifference(clipped), tolerance: 6e-7 * max(1, clipped.maxAbs),
                       "tape DDIM vs ClippedDDIM")
        XCTAssertGreaterThan(clipped.maxAbsDifference(ddim), 1e-3, "the clip must act in this test")
    }

    func testGradientsMatchFiniteDifferences() {
        let base = inputs()
        let analytic = run(base).grads
        let h: Float = 1e-2
        var worst = 0.0
        for (k, tensor) in base.enumerated() {
            for j in stride(from: 0, to: tensor.count, by: 3) {
                var plus = base, minus = base
                plus[k].data[j] += h
                minus[k].data[j] -= h
                let numeric = (run(plus).value - run(minus).value) / Double(2 * h)
                worst = max(worst, abs(Double(analytic[k].data[j]) - numeric) / max(1, abs(numeric)))
            }
        }
        // Measured 4.5e-5 (central difference, h 1e-2, float32 forward).
        assertMeasured(worst, tolerance: 5e-4, "tape DDIM gradient vs finite differences")
    }

    /// A step without gradients uses its denoiser value as a constant: the finite difference that holds those
    /// steps' denoiser outputs at their base values (recomputing only the latent path) is the reference.
    func testStepsWithoutGradientsDetachTheDenoiserOnly() {
        let base = inputs()
        let mask = [true, false, true, false, true]
        let analytic = run(base, mask: mask).grads
        // The frozen denoiser outputs of the masked steps along the base trajectory.
        var frozen: [Int: Tensor] = [:]
        var x = base[0]
        for i in 0..<mask.count {
            let t = Tape()
            let d = denoiser(t, t.constant(x), sigmas[i], [t.constant(base[1]), t.constant(base[2])]).value
            if !mask[i] { frozen[i] = d }
            let r = sigmas[i + 1] / sigmas[i]
            x = TweedieCore.add(TweedieCore.scale(x, r), TweedieCore.scale(d, 1 - r))
        }
        func value(_ xs: [Tensor]) -> Double {
            var x = xs[0]
            for i in 0..<mask.count {
                let t = Tape()
                let d = frozen[i] ?? denoiser(t, t.constant(x), sigmas[i], [t.constant(xs[1]), t.constant(xs[2])]).value
                let r = sigmas[i + 1] / sigmas[i]
                x = TweedieCore.add(TweedieCore.scale(x, r), TweedieCore.scale(d, 1 - r))
            }
            return x.data.reduce(0.0) { $0 + Double($1) * Double($1) }
        }
        let h: Float = 1e-2
        var worst = 0.0
        for (k, tensor) in base.enumerated() {
            for j in stride(from: 0, to: tensor.count, by: 2) {
                var plus = base, minus = base
                plus[k].data[j] += h
                minus[k].data[j] -= h
                let numeric = (value(plus) - value(minus)) / Double(2 * h)
                worst = max(worst, abs(Double(analytic[k].data[j]) - numeric) / max(1, abs(numeric)))
            }
        }
        // Measured 2.4e-5.
        assertMeasured(worst, tolerance: 3e-4, "tape DDIM masked-step gradient vs frozen finite differences")
        XCTAssertNotEqual(analytic[1], run(base).grads[1])
        XCTAssertEqual(run(base, mask: mask).final, run(base).final, "the mask must not change the sample")
    }

    func testCheckpointedStepsGiveBitwiseEqualGradients() {
        let base = inputs()
        for mask in [nil, [false, true, false, true, true]] as [[Bool]?] {
            for clip in [nil, 0.5] as [Float?] {
                let plain = run(base, clip: clip, mask: mask)
                let recomputed = run(base, clip: clip, checkpoint: true, mask: mask)
                XCTAssertEqual(plain.final, recomputed.final)
                XCTAssertEqual(plain.grads, recomputed.grads)
            }
        }
    }
}
