import Foundation
import XCTest
import Tweedie
import TweedieTestSupport

/// `DenoisingEvaluation` against denoisers whose answer is known, and `tweedie evaluate` on the bundled model.
final class EvaluateTests: XCTestCase {
    private var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Mid-grey images never clip, so the noisy PSNR is that of Gaussian noise of std σ/2 in [0, 1] units:
    /// -10 log10(σ²/4). An identity denoiser scores exactly the noisy PSNR, an oracle +infinity.
    func testKnownDenoisers() throws {
        let clean = Tensor(shape: [3, 1, 32, 32], data: [Float](repeating: 0.5, count: 3 * 32 * 32))
        let identity = ClosureDenoiser { x, _, _ in x }
        let rows = try DenoisingEvaluation.run(identity, clean: clean, sigmas: [0.1, 0.2], seed: 4, batch: 2)
        for r in rows {
            let expected = -10 * log10(Double(r.sigma * r.sigma) / 4)
            XCTAssertEqual(r.noisyPSNR, expected, accuracy: 0.2, "sigma \(r.sigma)")
            XCTAssertEqual(r.denoisedPSNR, r.noisyPSNR, accuracy: 1e-9)
        }
        // The same seed gives the same numbers whatever the batching.
        XCTAssertEqual(rows, try DenoisingEvaluation.run(identity, clean: clean, sigmas: [0.1, 0.2], seed: 4, batch: 3))
        let oracle = ClosureDenoiser { x, _, _ in Tensor(shape: x.shape, repeating: 0) }  // mid-grey is 0 in [-1, 1]
        let perfect = try DenoisingEvaluation.run(oracle, clean: clean, sigmas: [0.3], seed: 4)
        XCTAssertEqual(perfect[0].denoisedPSNR, .infinity)
        XCTAssertEqual(perfect[0].denoisedSSIM, 1, accuracy: 1e-9)
        XCTAssertThrowsError(try DenoisingEvaluation.run(identity, clean: clean, sigmas: [0], seed: 0))
    }

    /// The bundled fashion32 denoises unseen ellipse phantoms far better than the noise it is given.
    func testEvaluateOnTheBundledModel() throws {
        let model = repoRoot.appendingPathComponent("assets/fashion32").path
        let r = try GenerateCLI.run(["evaluate", "-m", model, "--images", "ellipses", "--sigma", "0.2,0.5", "--json",
                                     "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let rows = try XCTUnwrap(object["rows"] as? [[String: Double]])
        XCTAssertEqual(rows.count, 2)
        for row in rows {
            XCTAssertGreaterThan(row["denoised_psnr"]!, row["noisy_psnr"]! + 3, "\(row)")
        }
    }

    func testBadInputExitsTwo() throws {
        let model = repoRoot.appendingPathComponent("assets/fashion32").path
        for (arguments, needle) in [(["--images", "cats"], "--images cats"), (["--sigma", "0.1,-2"], "--sigma"),
                                    (["--sigma", "x"], "--sigma")] {
            let r = try GenerateCLI.run(["evaluate", "-m", model] + arguments)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssert(r.stderr.contains(needle), r.stderr)
        }
    }

    /// An AutoencoderKL folder is evaluated by reconstruction: the CLI's figures are those of the library on the
    /// same test images, and image 0's PSNR is recomputed here from its MSE in Float64.
    func testAutoencoderReconstruction() throws {
        try TestEnvironment.requireFile(FashionMNIST.defaultDirectory + "/t10k-images-idx3-ubyte.gz",
                                        package: "dataset-fashion-mnist")
        let folder = repoRoot.appendingPathComponent("Tests/TweedieModelsTests/Fixtures/vae").path
        let r = try GenerateCLI.run(["evaluate", "-m", folder, "--count", "20", "--json", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let vae = try XCTUnwrap(try ModelFolder.load(folder) as? AutoencoderKL)
        let images = try AutoencoderEvaluation.fashionTest(count: 20)
        let summary = try AutoencoderEvaluation.run(vae, images: images)
        XCTAssertEqual(object["count"] as? Int, 20)
        XCTAssertEqual(try XCTUnwrap(object["psnr_mean"] as? Double), summary.psnrMean, accuracy: 1e-3)
        XCTAssertEqual(try XCTUnwrap(object["ssim_mean"] as? Double), summary.ssimMean, accuracy: 1e-4)
        let one = Tensor(shape: [1, 3, 32, 32], data: Array(images.data[0..<3072]))
        let y = try vae.decode(try vae.encode(one))
        let mse = zip(y.data, one.data).reduce(0.0) { acc, p in
            let a = Double(min(max((p.0 + 1) / 2, 0), 1)), b = Double((p.1 + 1) / 2)
            return acc + (a - b) * (a - b)
        } / 3072
        let first = try AutoencoderEvaluation.run(vae, images: one)
        XCTAssertEqual(first.psnrMean, -10 * log10(mse), accuracy: 1e-6)
    }
}
