import TweedieCore
import TweedieOperators
import TweedieSamplers
import XCTest

/// DDS and DPS against their algebra: an oracle denoiser that returns the truth, an invertible operator, and a DPS
/// step checked against the hand-derived update.
final class InverseSolverTests: XCTestCase {
    private let side = 16

    private func truth() -> Tensor {
        var rng = SplitMix64(seed: 9)
        return Tensor(shape: [1, 1, side, side], data: (0..<(side * side)).map { _ in Float(2 * rng.uniform() - 1) })
    }

    private func measurements(_ op: LinearOperator, _ x: Tensor) -> [Buffer] {
        [op.apply(Buffer(shape: op.domainShape, isComplex: false, data: x.data))]
    }

    /// max |a − b|, NaN-propagating.
    private func maxAbs(_ a: Tensor, _ b: Tensor) -> Double {
        var m = 0.0
        for i in 0..<a.count {
            let d = abs(Double(a.data[i]) - Double(b.data[i]))
            if d.isNaN { return .nan }
            m = max(m, d)
        }
        return m
    }

    /// Invertible operators: fully sampled MRI (AᴴA = I on real images up to the real-part projection, which is
    /// the identity on real inputs), inpainting with every pixel observed, and a mild Gaussian blur.
    private func invertibleOperators() throws -> [(String, LinearOperator)] {
        [("mri full", MRIOperator(height: side, width: side, mask: [Float](repeating: 1, count: side * side))),
         ("inpaint none missing", InpaintOperator(height: side, width: side, mask: [Float](repeating: 1, count: side * side))),
         ("blur σ 0.5", try BlurOperator(height: side, width: side, kernel: .gaussian(sigma: 0.5, size: 3)))]
    }

    func testDDSStepWithOracleDenoiserReturnsTruth() throws {
        let x = truth()
        let oracle = ClosureDenoiser { _, _, _ in x }
        for (name, op) in try invertibleOperators() {
            for noiseFree in [false, true] {
                let y = measurements(op, x)
                // One step to σ′ = 0: x̂0 = truth is already data-consistent, so CG returns it and so does DDS.
                var rng = SplitMix64(seed: 4)
                let start = Tensor(shape: x.shape, data: x.data.map { $0 + 3 * Float(2 * rng.uniform() - 1) })
                let out = try DecomposedDiffusionSampler.sample(
                    model: oracle, operator: op, measurements: y, x: start, sigmas: [3, 0],
                    settings: .init(noiseFree: noiseFree), noise: NoNoise())
                // measured 0 (the warm start's residual is below the CG tolerance: no iteration runs)
                let err = maxAbs(out, x)
                XCTAssertTrue(err <= 1e-6, "\(name) noise-free \(noiseFree): \(err)")
            }
        }
    }

    func testDDSDataConsistencyRecoversTruthFromWrongEstimate() throws {
        // A denoiser that is wrong by a smooth offset; in the noise-free branch CG on AᴴA x = Aᴴy with an invertible
        // A drives x̂0′ to the truth regardless of the warm start.
        let x = truth()
        let wrong = ClosureDenoiser { _, _, _ in Tensor(shape: x.shape, data: x.data.enumerated().map { $0.element + 0.3 * Float($0.offset % 7) / 7 }) }
        for (name, op) in try invertibleOperators() {
            let out = try DecomposedDiffusionSampler.sample(
                model: wrong, operator: op, measurements: measurements(op, x), x: x, sigmas: [1, 0],
                settings: .init(cgIterations: 60, noiseFree: true, cgTolerance: 0), noise: NoNoise())
            // measured <= 7.2e-7 (blur), 2.4e-7 (MRI), 1.5e-8 (inpainting)
            let err = maxAbs(out, x)
            XCTAssertTrue(err <= 5e-6, "\(name): \(err)")
        }
    }

    func testDDSRenoisingFollowsTheFormula() throws {
        // With the oracle and σ′ > 0: x′ = x̂0′ + σ′ (η z + √(1 − η²) ε̂), ε̂ = (x − x̂0) / σ, z the step's fresh noise.
        let x = truth()
        let op = MRIOperator(height: side, width: side, mask: [Float](repeating: 1, count: side * side))
        var rng = SplitMix64(seed: 5)
        let start = Tensor(shape: x.shape, data: x.data.map { $0 + 2 * Float(2 * rng.uniform() - 1) })
        let z = Tensor(shape: x.shape, data: (0..<x.count).map { _ in Float(2 * rng.uniform() - 1) })
        var seen: Tensor?
        _ = try DecomposedDiffusionSampler.sample(
            model: ClosureDenoiser { _, _, _ in x }, operator: op, measurements: measurements(op, x), x: start,
            sigmas: [2, 0.5, 0], settings: .init(eta: 0.85), noise: ReplayNoise([z]),
            onStep: { info in
                if info.step == 0 { seen = info.x }
                return .continue
            })
        let keep = (1 - 0.85 * 0.85 as Float).squareRoot()
        let expected = Tensor(shape: x.shape, data: (0..<x.count).map { i in
            x.data[i] + 0.5 * (0.85 * z.data[i] + keep * (start.data[i] - x.data[i]) / 2)
        })
        // measured 0 (the same float operations in the same order)
        let err = try XCTUnwrap(seen).maxAbsDifference(expected)
        XCTAssertTrue(err <= 5e-7, "re-noised sample off by \(err)")
    }

    func testDDSFullRunWithOracleReturnsTruth() throws {
        let x = truth()
        let op = try DownsampleOperator(height: side, width: side, factor: 2)  // not invertible: the oracle carries it
        let table = VPSigmaTable(alphasCumprod: NoiseSchedule.alphasCumprod(SchedulerConfig()))
        let sigmas = InverseSchedule.ddsSigmas(table, steps: 50)
        XCTAssertEqual(sigmas.count, 51)
        let out = try DecomposedDiffusionSampler.sample(
            model: ClosureDenoiser { _, _, _ in x }, operator: op, measurements: measurements(op, x),
            x: Tensor(shape: x.shape, repeating: 0), sigmas: sigmas, noise: PhiloxNoise(seed: 1))
        // measured 0
        let err = maxAbs(out, x)
        XCTAssertTrue(err <= 1e-6, "DDS with an oracle: \(err)")
    }

    func testDPSStepMatchesHandDerivedUpdate() throws {
        // A linear tape denoiser D(x, σ) = a x: with one step to ᾱ′ = 1 the DDPM mean is x̂0 itself, so
        // x′ = x̂0 − s ∇_{x_t} ‖y − A x̂0‖ with x̂0 = a x_t / √ᾱ and ∇ = −(a/√ᾱ) Aᴴ r / ‖r‖, r = y − A x̂0.
        let a: Float = 0.7, s: Float = 0.4
        let truthImage = truth()
        let op = try BlurOperator(height: side, width: side, kernel: .gaussian(sigma: 1, size: 5))
        let y = measurements(op, Tensor(shape: truthImage.shape, data: truthImage.data.map { $0 * 0.5 }))
        let alphas = NoiseSchedule.alphasCumprod(SchedulerConfig())
        let t = 10, ab = alphas[t]
        var rng = SplitMix64(seed: 6)
        let xt = Tensor(shape: truthImage.shape, data: (0..<truthImage.count).map { _ in Float(0.5 * rng.uniform()) })
        let out = try DiffusionPosteriorSampling.sample(
            model: { tape, x, _ in tape.scale(x, a) }, operator: op, measurements: y, x: xt, alphasCumprod: alphas,
            timesteps: [t], settings: .init(scale: s), noise: ReplayNoise([Tensor(shape: xt.shape)]))
        let c = a / Float(ab.squareRoot())
        let x0 = Buffer(shape: [side, side], isComplex: false, data: xt.data.map { $0 * c })
        let r = BufferMath.sub(y[0], op.apply(x0))
        let g = BufferMath.scaled(op.adjoint(r), -c / Float(BufferMath.squaredNorm(r).squareRoot()))
        let expected = Tensor(shape: xt.shape, data: (0..<xt.count).map { x0.data[$0] - s * g.data[$0] })
        // measured 6.0e-8
        let err = maxAbs(out, expected)
        XCTAssertTrue(err <= 6e-7, "DPS step off by \(err)")
    }

    func testDPSWithConstantOracleEndsAtTruth() throws {
        // x̂0 independent of x_t: no gradient, and DDPM's last step (ᾱ′ = 1) lands on x̂0.
        let x = truth()
        let op = InpaintOperator(height: side, width: side, mask: [Float](repeating: 1, count: side * side))
        let alphas = NoiseSchedule.alphasCumprod(SchedulerConfig())
        let out = try DiffusionPosteriorSampling.sample(
            model: { tape, _, _ in tape.constant(x) }, operator: op, measurements: measurements(op, x),
            x: Tensor(shape: x.shape, repeating: 0.5), alphasCumprod: alphas,
            timesteps: InverseSchedule.timesteps(count: alphas.count, steps: 20), settings: .init(scale: 1),
            noise: PhiloxNoise(seed: 3))
        // measured 0
        let err = maxAbs(out, x)
        XCTAssertTrue(err <= 1e-6, "DPS with a constant oracle: \(err)")
    }
}
