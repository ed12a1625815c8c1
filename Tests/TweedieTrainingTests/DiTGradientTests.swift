import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// Whole-model gradients of the differentiable DiTTransformer2DModel against PyTorch autograd
/// (Fixtures/dit_grad, written by scripts/make_grad_fixtures.py; learned sigma, loss = Σ model(x, t, y) ⊙ R over
/// all output channels, every parameter's gradient stored).
final class DiTGradientTests: XCTestCase {
    private func run(checkpointing: Bool) throws -> GradientFixtureRun {
        let folder = TrainingFixtures.own("dit_grad")
        let net = try DiTTransformer2DModel.network(config: TrainingFixtures.ditConfig(folder), checkpointing: checkpointing)
        return try GradientFixtureRun(net, folder: folder)
    }

    func testGradientsMatchPyTorchAutograd() throws {
        let r = try run(checkpointing: false)
        XCTAssertEqual(r.outputShape, [2, 6, 8, 8], "learned sigma: 2 x in channels")
        XCTAssertEqual(r.loss, try r.io.tensor("loss").data[0], accuracy: 1e-4 * abs(r.loss))
        let inputError = relativeError(r.gradSample, try r.io.tensor("grad_sample"))
        // Measured 1.5e-6 (worst of 5 OpenBLAS kernels).
        assertMeasured(inputError, tolerance: 8e-6, "DiT gradient d loss / d sample")
        let params = try r.assertParameterGradients()
        XCTAssertEqual(params.checked, r.gradParams.count, "every parameter has a reference gradient")
        print("dit_grad: relative gradient error vs PyTorch: input \(inputError), worst parameter \(params.worst) "
              + "(\(params.name)) over \(params.checked) tensors")
    }

    /// Per-block checkpointing recomputes the same kernels on the same values and continues each input's running
    /// gradient sum, so loss and every gradient are bitwise those of the recorded tape.
    func testCheckpointingGivesTheSameGradients() throws {
        try run(checkpointing: false).assertBitwiseEqual(try run(checkpointing: true))
    }
}
