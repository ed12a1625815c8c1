import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// The AutoencoderKL's encoder and decoder on the tape against PyTorch autograd (Fixtures/vae_grad, written by
/// scripts/make_grad_fixtures.py --vae; loss = Σ mean ⊙ Rm + Σ logvar ⊙ Rl + Σ decode(z) ⊙ Rd): what latent
/// methods (score distillation, PGC through the decoder) differentiate.
final class VAEGradientTests: XCTestCase {
    func testEncoderAndDecoderGradientsMatchPyTorchAutograd() throws {
        let folder = TrainingFixtures.own("vae_grad")
        let vae = try XCTUnwrap(try ModelFolder.load(folder) as? AutoencoderKL)
        let io = try SafeTensorsFile(path: folder + "/io.safetensors")
        let tape = Tape()
        let leaves = try TrainingFixtures.weights(folder).map { ($0.0, tape.leaf($0.1, requiresGrad: true)) }
        let scope = ForwardScope(tape: tape, weights: vae.weights, given: Dictionary(uniqueKeysWithValues: leaves))
        let image = tape.leaf(try io.tensor("image"), requiresGrad: true)
        let latent = tape.leaf(try io.tensor("latent"), requiresGrad: true)
        let (mean, logVariance) = try vae.encodeMoments(scope, image: image)
        let decoded = try vae.decode(scope, latent: latent)
        func dot(_ v: Variable, _ name: String) throws -> Variable {
            tape.sum(tape.mul(v, tape.constant(try io.tensor(name))))
        }
        let loss = tape.add(tape.add(try dot(mean, "cotangent_mean"), try dot(logVariance, "cotangent_logvar")),
                            try dot(decoded, "cotangent_decoded"))
        let grads = tape.gradients(of: loss, wrt: [image, latent] + leaves.map(\.1))
        XCTAssertEqual(loss.value.data[0], try io.tensor("loss").data[0], accuracy: 1e-4 * abs(loss.value.data[0]))
        // Measured, worst of the Prescott, Haswell, Zen, SkylakeX and Cooperlake kernels: image 8.5e-7, latent 1.3e-6,
        // parameters 2.1e-6.
        assertMeasured(relativeError(grads[0], try io.tensor("grad_image")), tolerance: 1e-5, "VAE gradient d loss / d image")
        assertMeasured(relativeError(grads[1], try io.tensor("grad_latent")), tolerance: 1e-5, "VAE gradient d loss / d latent")
        var worst: Float = 0, checked = 0, keyBiases = 0
        for ((name, _), g) in zip(leaves, grads.dropFirst(2)) {
            let key = "grad/" + name
            guard io.names.contains(key) else { continue }
            let reference = try io.tensor(key)
            // Softmax ignores a shift shared by all keys: the key bias's gradient is zero up to rounding on both sides.
            if name.hasSuffix("to_k.bias") {
                XCTAssertLessThanOrEqual(g.maxAbs, 1e-5 * max(reference.maxAbs, 1), name)
                keyBiases += 1
                continue
            }
            let e = relativeError(g, reference)
            assertMeasured(e, tolerance: 2e-5, "VAE parameter gradient \(name)")
            worst = max(worst, e.isNaN ? .infinity : e)
            checked += 1
        }
        XCTAssertEqual(checked + keyBiases, leaves.count, "every parameter is compared")
        XCTAssertEqual(keyBiases, 2, "the encoder's and the decoder's mid-block attention")
        print("vae_grad: worst relative parameter gradient error vs PyTorch \(worst) over \(checked) tensors")
    }
}
