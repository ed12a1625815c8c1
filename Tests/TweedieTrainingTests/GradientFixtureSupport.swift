import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// Shared by the whole-model gradient tests: one backward pass of a differentiable network over a fixture of
/// scripts/make_grad_fixtures.py (loss = Σ model(x, t, y) ⊙ R), and the comparisons made on its result.
struct GradientFixtureRun {
    let loss: Float
    let outputShape: [Int]
    let gradSample: Tensor
    let gradParams: [String: Tensor]
    /// The fixture's inputs and PyTorch's loss and gradients.
    let io: SafeTensorsFile

    /// Runs `net` on fixture `folder` (`weights` under diffusers' names, `io.safetensors`) and backpropagates.
    init(_ net: DifferentiableDiffusionNetwork, folder: String) throws {
        io = try SafeTensorsFile(path: folder + "/io.safetensors")
        let tape = Tape()
        let leaves = try TrainingFixtures.weights(folder).map { ($0.0, tape.leaf($0.1, requiresGrad: true)) }
        let x = tape.leaf(try io.tensor("sample"), requiresGrad: true)
        let out = try net.forward(tape, parameters: Dictionary(uniqueKeysWithValues: leaves), sample: x,
                                  timesteps: try io.tensor("timestep").data,
                                  classLabels: try io.int64s("class_labels").map { Int($0) })
        let l = tape.sum(tape.mul(out, tape.constant(try io.tensor("cotangent"))))
        let grads = tape.gradients(of: l, wrt: [x] + leaves.map(\.1))
        loss = l.value.data[0]
        outputShape = out.shape
        gradSample = grads[0]
        gradParams = Dictionary(uniqueKeysWithValues: zip(leaves.map(\.0), grads.dropFirst()))
    }

    /// Asserts every stored parameter gradient ("grad/<name>") within its relative-error limit and returns the worst
    /// (error, name) and how many were checked. Measured over the UNet and DiT fixtures under 5 OpenBLAS kernels:
    /// at most 5.4e-6, except the timestep embedder's first linear weight (2.7e-5: its input is the sinusoidal
    /// embedding of t = 500, whose large phases carry float32 rounding), hence 3e-5 and 1e-4.
    func assertParameterGradients() throws -> (worst: Float, name: String, checked: Int) {
        let checked = io.names.filter { $0.hasPrefix("grad/") }
        var worst: Float = 0, worstName = ""
        for key in checked {
            let name = String(key.dropFirst(5))
            let g = try XCTUnwrap(gradParams[name], name)
            if name.hasSuffix("to_k.bias") {
                // Softmax ignores a shift shared by all keys: this gradient is exactly zero and both sides hold
                // only rounding noise, so it is checked to be negligible against the query bias's gradient.
                let scale = try XCTUnwrap(gradParams[name.replacingOccurrences(of: "to_k", with: "to_q")]).maxAbs
                XCTAssertLessThanOrEqual(g.maxAbs, 1e-5 * scale, name)
                continue
            }
            let err = relativeError(g, try io.tensor(key))
            let limit: Float = name.hasSuffix("timestep_embedder.linear_1.weight") ? 1e-4 : 3e-5
            assertMeasured(err, tolerance: limit, "parameter gradient \(name)")
            if !(err <= worst) { (worst, worstName) = (err, name) }
        }
        return (worst, worstName, checked.count)
    }

    /// Asserts that `other` (e.g. the checkpointed run) has bitwise the same loss and gradients.
    func assertBitwiseEqual(_ other: GradientFixtureRun) {
        XCTAssertEqual(loss, other.loss)
        XCTAssertEqual(gradSample, other.gradSample, "input gradient")
        XCTAssertEqual(Set(gradParams.keys), Set(other.gradParams.keys))
        for (name, g) in gradParams {
            XCTAssertEqual(other.gradParams[name], g, "\(name): max |difference| "
                           + "\(other.gradParams[name].map { $0.maxAbsDifference(g) } ?? .infinity)")
        }
    }
}
