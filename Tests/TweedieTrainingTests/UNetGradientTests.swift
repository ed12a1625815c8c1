import Foundation
import XCTest
import TweedieCore
import TweedieModels

/// Whole-model gradients of the differentiable UNet2DModel against PyTorch autograd
/// (Fixtures/unet_grad, written by scripts/make_grad_fixtures.py; loss = Σ model(x, t, y) ⊙ R).
final class UNetGradientTests: XCTestCase {
    private struct Run {
        let loss: Float
        let gradSample: Tensor
        let gradParams: [String: Tensor]
    }

    private func run(checkpointing: Bool) throws -> (Run, SafeTensorsFile) {
        let folder = TrainingFixtures.own("unet_grad")
        let io = try SafeTensorsFile(path: folder + "/io.safetensors")
        let net = try DifferentiableUNet2D(config: TrainingFixtures.unetConfig(folder), checkpointing: checkpointing)
        let tape = Tape()
        let leaves = try TrainingFixtures.weights(folder).map { ($0.0, tape.leaf($0.1, requiresGrad: true)) }
        let x = tape.leaf(try io.tensor("sample"), requiresGrad: true)
        let out = try net.forward(tape, parameters: Dictionary(uniqueKeysWithValues: leaves), sample: x,
                                  timesteps: try io.tensor("timestep").data,
                                  classLabels: try io.int64s("class_labels").map { Int($0) })
        let loss = tape.sum(tape.mul(out, tape.constant(try io.tensor("cotangent"))))
        let grads = tape.gradients(of: loss, wrt: [x] + leaves.map(\.1))
        let byName = Dictionary(uniqueKeysWithValues: zip(leaves.map(\.0), grads.dropFirst()))
        return (Run(loss: loss.value.data[0], gradSample: grads[0], gradParams: byName), io)
    }

    func testGradientsMatchPyTorchAutograd() throws {
        let (r, io) = try run(checkpointing: false)
        XCTAssertEqual(r.loss, try io.tensor("loss").data[0], accuracy: 1e-4 * abs(r.loss))
        var worst: Float = 0
        let e = relativeError(r.gradSample, try io.tensor("grad_sample"))
        XCTAssertLessThanOrEqual(e, 1e-3, "d loss / d sample")
        worst = max(worst, e)
        let checked = io.names.filter { $0.hasPrefix("grad/") }
        XCTAssertGreaterThanOrEqual(checked.count, 10)
        for key in checked {
            let name = String(key.dropFirst(5))
            let g = try XCTUnwrap(r.gradParams[name], name)
            if name.hasSuffix("to_k.bias") {
                // Softmax ignores a shift shared by all keys: this gradient is exactly zero, both sides hold only
                // rounding noise, so it is checked to be negligible against the query bias's gradient instead.
                let scale = try XCTUnwrap(r.gradParams[name.replacingOccurrences(of: "to_k", with: "to_q")]).maxAbs
                XCTAssertLessThanOrEqual(g.maxAbs, 1e-5 * scale, name)
                continue
            }
            let err = relativeError(g, try io.tensor(key))
            XCTAssertLessThanOrEqual(err, 1e-3, name)
            worst = max(worst, err)
        }
        print("unet_grad: worst relative gradient error vs PyTorch \(worst) over \(checked.count + 1) tensors")
    }

    /// Per-layer checkpointing recomputes the same kernels on the same values and continues each input's running
    /// gradient sum, so loss and every gradient are bitwise those of the recorded tape.
    func testCheckpointingGivesTheSameGradients() throws {
        let (plain, _) = try run(checkpointing: false)
        let (recomputed, _) = try run(checkpointing: true)
        XCTAssertEqual(plain.loss, recomputed.loss)
        XCTAssertEqual(plain.gradSample, recomputed.gradSample, "input gradient")
        XCTAssertEqual(Set(plain.gradParams.keys), Set(recomputed.gradParams.keys))
        for (name, g) in plain.gradParams {
            XCTAssertEqual(recomputed.gradParams[name], g, "\(name): max |difference| "
                           + "\(recomputed.gradParams[name].map { $0.maxAbsDifference(g) } ?? .infinity)")
        }
    }
}
