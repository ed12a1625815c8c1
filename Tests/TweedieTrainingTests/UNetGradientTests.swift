import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// Whole-model gradients of the differentiable UNet2DModel against PyTorch autograd
/// (Fixtures/unet_grad, written by scripts/make_grad_fixtures.py; loss = Σ model(x, t, y) ⊙ R).
final class UNetGradientTests: XCTestCase {
    private func run(checkpointing: Bool) throws -> GradientFixtureRun {
        let folder = TrainingFixtures.own("unet_grad")
        let net = try UNet2DModel.network(config: TrainingFixtures.unetConfig(folder), checkpointing: checkpointing)
        return try GradientFixtureRun(net, folder: folder)
    }

    func testGradientsMatchPyTorchAutograd() throws {
        let r = try run(checkpointing: false)
        XCTAssertEqual(r.loss, try r.io.tensor("loss").data[0], accuracy: 1e-4 * abs(r.loss))
        let e = relativeError(r.gradSample, try r.io.tensor("grad_sample"))
        // Measured 9.8e-7 (worst of 5 OpenBLAS kernels).
        assertMeasured(e, tolerance: 5e-6, "UNet gradient d loss / d sample")
        let params = try r.assertParameterGradients()
        XCTAssertGreaterThanOrEqual(params.checked, 10)
        print("unet_grad: worst relative gradient error vs PyTorch \(max(e, params.worst)) over \(params.checked + 1) tensors")
    }

    /// Per-layer checkpointing recomputes the same kernels on the same values and continues each input's running
    /// gradient sum, so loss and every gradient are bitwise those of the recorded tape.
    func testCheckpointingGivesTheSameGradients() throws {
        try run(checkpointing: false).assertBitwiseEqual(try run(checkpointing: true))
    }
}
