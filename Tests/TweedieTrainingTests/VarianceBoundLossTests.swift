import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieSamplers
import TweedieTraining

/// The learned-variance bound against improved-diffusion's formulas run by PyTorch autograd (Fixtures/vlb, from
/// scripts/make_grad_fixtures.py), and its gradient against finite differences.
final class VarianceBoundLossTests: XCTestCase {
    private struct Fixture {
        let bound: VarianceBoundLoss
        let x0: Tensor, xt: Tensor, eps: Tensor, v: Tensor
        let timesteps: [Int]
        let io: SafeTensorsFile

        init() throws {
            io = try SafeTensorsFile(path: TrainingFixtures.own("vlb/io.safetensors"))
            bound = VarianceBoundLoss(alphasCumprod: try io.tensor("alphas_cumprod").data.map(Double.init))
            x0 = try io.tensor("x0"); xt = try io.tensor("xt"); eps = try io.tensor("eps"); v = try io.tensor("v")
            timesteps = try io.int64s("timesteps").map { Int($0) }
        }

        func loss(_ v: Tensor) -> (value: Float, grad: Tensor) {
            let tape = Tape()
            let leaf = tape.leaf(v, requiresGrad: true)
            let l = bound.loss(tape, variance: leaf, meanPrediction: eps, prediction: .epsilon, x0: x0, xt: xt,
                               timesteps: timesteps)
            return (l.value.data[0], tape.gradients(of: l, wrt: [leaf])[0])
        }
    }

    /// Timesteps 0 (decoder NLL, with x0 at both edge bins), 1, 500 and 999 (KL).
    func testMatchesImprovedDiffusionWithAutograd() throws {
        let f = try Fixture()
        let (value, grad) = f.loss(f.v)
        let want = try f.io.tensor("loss").data[0]
        XCTAssertEqual(value, want, accuracy: 1e-5 * want)
        let err = relativeError(grad, try f.io.tensor("grad_v"))
        // Measured 0 (worst of 5 OpenBLAS kernels); 1e-6 leaves a few float32 roundings for another libm's exp and log.
        assertMeasured(err, tolerance: 1e-6, "variance bound gradient")
        print("vlb: loss \(value) vs \(want), gradient relative error \(err)")
    }

    func testGradientMatchesFiniteDifferences() throws {
        let f = try Fixture()
        let grad = f.loss(f.v).grad
        // The decoder's edge bins of sample 0 and 1, and elements of every timestep.
        let picks = [0, 1, 16 * 3 * 1 + 16 + 4, 48 + 20, 96 + 5, 96 + 40, 144 + 7, 144 + 33]
        // The loss is rounded to Float32 (~3e-8 here); a wide step keeps that noise below 1e-6 of the derivative,
        // and the five-point difference keeps the truncation error (O(h⁴)) smaller still.
        let h: Float = 0.05
        for j in picks {
            func at(_ k: Float) -> Double {
                var v = f.v
                v.data[j] += k * h
                return Double(f.loss(v).value)
            }
            let numeric = (8 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12 * Double(h))
            XCTAssertEqual(Double(grad.data[j]), numeric, accuracy: 1e-3 * Double(grad.maxAbs), "element \(j)")
        }
    }

    /// v-prediction recovers the same x0 as the equivalent ε, so the bound is the same.
    func testVPredictionGivesTheSameBound() throws {
        let f = try Fixture()
        var vTarget = f.eps
        for i in 0..<f.timesteps.count {
            let a = Float(f.bound.alphasCumprod[f.timesteps[i]])
            for j in (i * 48)..<((i + 1) * 48) {
                let x0 = (f.xt.data[j] - (1 - a).squareRoot() * f.eps.data[j]) / a.squareRoot()
                vTarget.data[j] = a.squareRoot() * f.eps.data[j] - (1 - a).squareRoot() * x0
            }
        }
        let tape = Tape()
        let l = f.bound.loss(tape, variance: tape.constant(f.v), meanPrediction: vTarget, prediction: .vPrediction,
                             x0: f.x0, xt: f.xt, timesteps: f.timesteps)
        XCTAssertEqual(l.value.data[0], f.loss(f.v).value, accuracy: 1e-3 * f.loss(f.v).value)
    }
}
