import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieSamplers
import TweedieTuning

/// `tweedie sds`'s gradient path on the dit_pipe test fixture (a random-weight class-conditional DiT on 4x8x8
/// latents, learned sigma, null class 1000, and a random AutoencoderKL 16x16x3 -> 4x8x8): the SDS latent gradient
/// against the formula computed by hand from the raw network, the gradient through the encoder (and the texture
/// warp) against finite differences, the clip modes and the warp against hand values.
final class SDSGradientTests: XCTestCase {
    static let pipe = RepositoryPaths.root.appendingPathComponent("Tests/TweedieCLITests/Fixtures/dit_pipe")

    struct Pipe {
        let net: DiffusionModel
        let vae: AutoencoderKL
        let scheduler: SchedulerConfig
        let alphas: [Double]

        /// `generate`'s denoiser for this network: VP -> σ-space, the variance channels dropped.
        var denoiser: VPDenoiser {
            let net = self.net
            return VPDenoiser(alphasCumprod: alphas, prediction: scheduler.predictionType, learnedSigma: true,
                              nullClass: 1000) { x, t, labels in try net.forward(x, timesteps: t, classLabels: labels) }
        }
    }

    static func load() throws -> Pipe {
        let net = try ModelFolder.load(pipe.appendingPathComponent("transformer").path).diffusionModel!
        let vae = try ModelFolder.load(pipe.appendingPathComponent("vae").path) as! AutoencoderKL
        let scheduler = try SchedulerConfig(path: pipe.appendingPathComponent("scheduler/scheduler_config.json").path)
        return Pipe(net: net, vae: vae, scheduler: scheduler, alphas: NoiseSchedule.alphasCumprod(scheduler))
    }

    static func settings(_ edit: (inout SDSSettings) -> Void = { _ in }) -> SDSSettings {
        var s = SDSSettings()
        s.classID = 3
        s.cfgScale = 4
        s.seed = 7
        edit(&s)
        return s
    }

    func testLatentGradientMatchesTheFormulaFromTheRawNetwork() throws {
        let p = try Self.load()
        let sds = try ScoreDistillation(denoiser: p.denoiser, alphasCumprod: p.alphas, vae: p.vae,
                                        imageShape: [1, 3, 16, 16], settings: Self.settings())
        let z = uniformTensor([1, 4, 8, 8], seed: 3, -1.5, 1.5)
        var worst = 0.0
        for step in [0, 1, 5] {
            let draw = try sds.draw(step: step)
            XCTAssertTrue(sds.timesteps.contains(draw.timestep))
            let g = try sds.latentGradient(z, draw: draw)
            // By hand, in the VP parametrisation the network was trained in: z_t = √ᾱ z + √(1 − ᾱ) ε at the integer
            // timestep, ε̂ = ε_u + w(ε_c − ε_u) from the first 4 of the 8 output channels, g = (1 − ᾱ)(ε̂ − ε).
            let t = draw.timestep, abar = p.alphas[t]
            let zt = Tensor(shape: z.shape, data: (0..<z.count).map {
                Float(abar.squareRoot() * Double(z.data[$0]) + (1 - abar).squareRoot() * Double(draw.noise.data[$0]))
            })
            let out = try p.net.forward(Tensor(shape: [2, 4, 8, 8], data: zt.data + zt.data),
                                        timesteps: [Float(t), Float(t)], classLabels: [3, 1000])
            let plane = 4 * 64
            var expected = [Double](repeating: 0, count: z.count)
            for i in 0..<plane {
                let c = Double(out.data[i]), u = Double(out.data[2 * plane + i])  // sample 1 starts at 8 channels
                expected[i] = (1 - abar) * (u + 4 * (c - u) - Double(draw.noise.data[i]))
            }
            let scale = expected.map(abs).max()!
            let err = zip(g.data, expected).map { abs(Double($0) - $1) }.max()! / scale
            worst = max(worst, err)
        }
        // Measured 1.6e-6: the σ-space path feeds the network the log-σ interpolated timestep and recovers ε̂ as
        // (x − D)/σ in Float.
        assertMeasured(worst, tolerance: 2e-5, "SDS latent gradient vs the raw-network formula")
    }

    /// f(I) = ⟨g, z(I)⟩ with g and the posterior noise of `draw` fixed: the function whose gradient SDS injects.
    private func injected(_ sds: ScoreDistillation, _ image: Tensor, g: Tensor, draw: ScoreDistillation.Draw) throws -> Double {
        let tape = Tape()
        let z = try sds.encode(tape.constant(image), posteriorNoise: draw.posteriorNoise).value
        return zip(z.data, g.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    func testPixelGradientThroughTheEncoderMatchesFiniteDifferences() throws {
        let p = try Self.load()
        let sds = try ScoreDistillation(denoiser: p.denoiser, alphasCumprod: p.alphas, vae: p.vae,
                                        imageShape: [1, 3, 16, 16], settings: Self.settings { $0.clip = .none })
        let image = uniformTensor([1, 3, 16, 16], seed: 4, 0.1, 0.9)
        let step = try sds.gradient(image, step: 2)
        XCTAssertEqual(step.clip.clippedFraction, 0)
        XCTAssertEqual(step.parameterGradient, step.pixelGradient)
        XCTAssertGreaterThan(step.pixelGradient.maxAbs, 0)
        let indices = Array(stride(from: 5, to: image.count, by: 37))
        let err = try finiteDifferenceError(image, step.pixelGradient, indices: indices, directions: 3, h: 3e-3) {
            try injected(sds, $0, g: step.latentGradient, draw: step.draw)
        }
        // Measured 8.2e-5 (float32 encoder: GroupNorm, attention, posterior sample; five-point differences at
        // h 3e-3: h 1e-2 gives 1.2e-3 from curvature along the ±1 directions, h 1e-3 gives 2.6e-4 from rounding).
        assertMeasured(err, tolerance: 8e-4, "SDS pixel gradient through the VAE encoder vs finite differences")
    }

    func testTextureGradientThroughTheWarpMatchesFiniteDifferences() throws {
        let p = try Self.load()
        let sds = try ScoreDistillation(denoiser: p.denoiser, alphasCumprod: p.alphas, vae: p.vae,
                                        imageShape: [1, 3, 16, 16],
                                        settings: Self.settings { $0.clip = .none; $0.render = .texture; $0.textureSize = 20 })
        XCTAssertEqual(sds.parameterShape, [1, 3, 20, 20])
        let texture = uniformTensor([1, 3, 20, 20], seed: 5, 0.1, 0.9)
        let step = try sds.gradient(texture, step: 1)
        let indices = Array(stride(from: 3, to: texture.count, by: 29))
        let err = try finiteDifferenceError(texture, step.parameterGradient, indices: indices, directions: 3, h: 3e-3) {
            try injected(sds, sds.image($0), g: step.latentGradient, draw: step.draw)
        }
        // Measured 4.1e-5 (as the pixel test; texels outside the view get exactly 0 from both sides).
        assertMeasured(err, tolerance: 4e-4, "SDS texture gradient through warp and encoder vs finite differences")
    }

    func testClipModesOnHandValues() throws {
        // Two pixels of a [1, 3, 1, 2] gradient: pixel 0 = (0.3, -0.05, 0.1) (max 0.3 > c), pixel 1 = (0.02, -0.04, 0)
        // (max 0.04 < c), c = 0.1.
        let g = Tensor(shape: [1, 3, 1, 2], data: [0.3, 0.02, -0.05, -0.04, 0.1, 0])
        func clipped(_ mode: PixelGradientClip) -> (Tensor, Double) {
            var x = g
            let r = mode.apply(&x, threshold: 0.1)
            return (x, r.clippedFraction)
        }
        func close(_ a: Tensor, _ b: [Float], _ what: String) {
            for (x, y) in zip(a.data, b) { XCTAssertEqual(x, y, accuracy: 1e-7, what) }
        }
        // pixel: pixel 0 scaled by 0.1 / 0.3, direction kept; pixel 1 untouched.
        let (px, fp) = clipped(.pixel)
        close(px, [0.1, 0.02, -0.05 / 3, -0.04, 0.1 / 3, 0], "pixel")
        XCTAssertEqual(fp, 0.5)
        // clamp: each element to [-0.1, 0.1]: only 0.3 changes.
        let (cl, fc) = clipped(.clamp)
        close(cl, [0.1, 0.02, -0.05, -0.04, 0.1, 0], "clamp")
        XCTAssertEqual(fc, 1.0 / 6)
        // global: norm √(0.09 + 0.0025 + 0.01 + 0.0004 + 0.0016) = √0.1045 > c·√2 = 0.14142: all scaled by
        // 0.14142 / (0.32326 + 1e-6).
        let (gl, fg) = clipped(.global)
        let f = Float(0.1 * 2.0.squareRoot() / (0.1045.squareRoot() + 1e-6))
        close(gl, g.data.map { $0 * f }, "global")
        XCTAssertEqual(fg, 1)
        XCTAssertEqual(clipped(.none).0, g)
        // Below every threshold nothing moves.
        var small = Tensor(shape: [1, 3, 1, 2], data: [0.01, -0.02, 0.03, 0, 0.05, -0.09])
        for mode in PixelGradientClip.allCases {
            let before = small
            XCTAssertEqual(mode.apply(&small, threshold: 0.1).clippedFraction, 0, mode.rawValue)
            XCTAssertEqual(small, before, mode.rawValue)
        }
        XCTAssertThrowsError(try PixelGradientClip(parsing: "l2"))
    }

    func testWarpOnHandValuesAndItsAdjoint() {
        let warp = AffineTextureRender(textureSize: 12, frameHeight: 6, frameWidth: 8)
        // A texture linear in texel coordinates, T(u, v) = 0.5 + 0.03u − 0.02v, is reproduced exactly by bilinear
        // sampling inside the texture, so frame pixel (x, y) must read T at its rotated, zoomed position.
        let s = 12, a = 20 * Double.pi / 180
        let texture = Tensor(shape: [1, 1, s, s], data: (0..<(s * s)).map { i in Float(0.5 + 0.03 * Double(i % s) - 0.02 * Double(i / s)) })
        let frame = warp.render(texture)
        for y in 0..<6 {
            for x in 0..<8 {
                let xn = Double(2 * x + 1) / 8 - 1, yn = Double(2 * y + 1) / 6 - 1
                let u = ((0.7 * (cos(a) * xn - sin(a) * yn) + 1) * Double(s) - 1) / 2
                let v = ((0.7 * (sin(a) * xn + cos(a) * yn) + 1) * Double(s) - 1) / 2
                XCTAssertEqual(Double(frame.data[y * 8 + x]), 0.5 + 0.03 * u - 0.02 * v, accuracy: 1e-5, "(\(x), \(y))")
            }
        }
        // ⟨A t, f⟩ = ⟨t, Aᵀ f⟩ for random t, f.
        let t = uniformTensor([2, 3, s, s], seed: 8, -1, 1), f = uniformTensor([2, 3, 6, 8], seed: 9, -1, 1)
        let lhs = zip(warp.render(t).data, f.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(t.data, warp.adjoint(f).data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-5 * abs(lhs))
    }

    func testRunsRepeatAndSeedsDiffer() throws {
        let p = try Self.load()
        func final(seed: UInt64) throws -> (Tensor, [Int]) {
            let sds = try ScoreDistillation(denoiser: p.denoiser, alphasCumprod: p.alphas, vae: p.vae,
                                            imageShape: [1, 3, 16, 16],
                                            settings: Self.settings { $0.seed = seed; $0.steps = 3 })
            let run = try SDSRun(sds)
            var ts: [Int] = []
            try run.run { ts.append($0.timestep) }
            XCTAssertEqual(run.step, 3)
            XCTAssertTrue(run.parameters.data.allSatisfy { $0 >= 0 && $0 <= 1 })
            return (run.parameters, ts)
        }
        let (a, ta) = try final(seed: 1), (b, tb) = try final(seed: 1), (c, _) = try final(seed: 2)
        XCTAssertEqual(a, b)
        XCTAssertEqual(ta, tb)
        XCTAssertNotEqual(a, c)
        XCTAssertTrue(ta.allSatisfy { (20...980).contains($0) }, "\(ta)")
    }
}
