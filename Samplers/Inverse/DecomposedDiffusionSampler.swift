import TweedieCore
import TweedieOperators

/// DDS, the Decomposed Diffusion Sampler (Chung, Lee, Ye, ICLR 2024), in sigma space on any pixel-space
/// `Denoiser` (VP networks through `VPDenoiser`). Per step from σ to σ′:
///
/// 1. x̂0 = D(x, σ) (Tweedie's formula) and ε̂ = (x − x̂0) / σ;
/// 2. data consistency by M conjugate-gradient steps warm-started at x̂0, on (I + γ AᴴA) x = x̂0 + γ Aᴴ y, or on
///    AᴴA x = Aᴴ y in the noise-free setting (σ_y = 0; the switch the official code uses), giving x̂0′;
/// 3. re-noising x′ = x̂0′ + σ′ (η z + √(1 − η²) ε̂) with fresh z, or x̂0′ itself when σ′ = 0.
///
/// η is the *fraction of fresh noise*, not DDIM's η (DDIM's σ_t is far smaller); the two are separate settings.
/// CG uses conjugated inner products (DDS's own `CG` does not, which is wrong for complex MRI). The image is real
/// (the prior's pixels); operators with a complex range (MRI) act on it through their real-domain form.
public enum DecomposedDiffusionSampler {
    /// DDS's knobs; defaults are the official code's (N = 50 lives in the schedule).
    public struct Settings: Equatable, Sendable {
        /// CG steps per diffusion step (M).
        public var cgIterations: Int = 5
        /// Fraction of fresh noise in the re-noising (η).
        public var eta: Float = 0.85
        /// Weight of the data term (γ).
        public var gamma: Float = 1
        /// σ_y = 0: solve AᴴA x = Aᴴ y instead of the proximal system.
        public var noiseFree: Bool = false
        /// CG stops once ‖r‖ falls below this (the official 1e-5).
        public var cgTolerance: Double = 1e-5

        /// Settings with the official defaults unless given.
        public init(cgIterations: Int = 5, eta: Float = 0.85, gamma: Float = 1, noiseFree: Bool = false,
                    cgTolerance: Double = 1e-5) {
            self.cgIterations = cgIterations
            self.eta = eta
            self.gamma = gamma
            self.noiseFree = noiseFree
            self.cgTolerance = cgTolerance
        }
    }

    /// Step 2 for one image: x̂0′ from x̂0 (a real buffer of the operator's domain) and measurements y.
    public static func dataConsistency(_ x0: Buffer, operator op: LinearOperator, measurements y: Buffer,
                                       settings: Settings) -> Buffer {
        let aty = op.adjoint(y)
        if settings.noiseFree {
            return ConjugateGradient.solve({ op.normal($0) }, b: aty, x0: x0, iterations: settings.cgIterations,
                                           tolerance: settings.cgTolerance).x
        }
        let g = settings.gamma
        let b = BufferMath.lincomb(x0, 1, aty, g)
        return ConjugateGradient.solve({ BufferMath.lincomb($0, 1, op.normal($0), g) }, b: b, x0: x0,
                                       iterations: settings.cgIterations, tolerance: settings.cgTolerance).x
    }

    /// Runs DDS from `x` (sigma space, [N, ...] with one item per entry of `measurements`, each item the
    /// operator's domain) down `sigmas` (e.g. `InverseSchedule.ddsSigmas`). Fresh noise of step i comes from
    /// `noise` with purpose `.step(i)`. `onStep` sees each step's x̂0′ as `denoised`; `.stop` returns it.
    public static func sample(model: Denoiser, operator op: LinearOperator, measurements: [Buffer], x: Tensor,
                              sigmas: [Float], settings: Settings = Settings(), condition: Condition = .unconditional,
                              noise: NoiseSource, onStep: StepCallback = ignoreSteps) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dds")
        try checkShapes(op, measurements: measurements, x: x, method: "dds")
        guard settings.cgIterations >= 0 else { throw TweedieError.badInput("--cg-iters: must be at least 0") }
        guard settings.eta >= 0, settings.eta <= 1 else {
            throw TweedieError.badInput("--eta: DDS's noise fraction must be in [0, 1], got \(settings.eta)")
        }
        var x = x
        let steps = sigmas.count - 1
        for i in 0..<steps {
            let (sigma, next) = (sigmas[i], sigmas[i + 1])
            let denoised = try model.denoise(x, sigma: sigma, condition: condition)
            let consistent = mapItems(denoised, op) { item, buffer in
                dataConsistency(buffer, operator: op, measurements: measurements[item], settings: settings)
            }
            if next > 0 {
                let z = try noise.normal(shape: x.shape, purpose: .step(i))
                x = renoise(consistent, x: x, denoised: denoised, z: z, sigma: sigma, next: next, eta: settings.eta)
            } else {
                x = consistent
            }
            let info = StepInfo(step: i, total: steps, sigma: sigma, sigmaNext: next, x: x, denoised: consistent)
            if onStep(info) == .stop { return consistent }
        }
        return x
    }

    /// x̂0′ + σ′ (η z + √(1 − η²) ε̂) with ε̂ = (x − x̂0) / σ.
    static func renoise(_ x0p: Tensor, x: Tensor, denoised: Tensor, z: Tensor, sigma: Float, next: Float,
                        eta: Float) -> Tensor {
        let keep = (1 - eta * eta).squareRoot()
        return Tensor(shape: x.shape) { out in
            for i in 0..<out.count {
                let eps = (x.data[i] - denoised.data[i]) / sigma
                out[i] = x0p.data[i] + next * (eta * z.data[i] + keep * eps)
            }
        }
    }

    /// Applies `body` to every batch item as a real buffer of the operator's domain and restacks the results.
    static func mapItems(_ t: Tensor, _ op: LinearOperator, _ body: (Int, Buffer) -> Buffer) -> Tensor {
        let n = t.shape[0], per = t.count / n
        var out = t
        for item in 0..<n {
            let b = Buffer(shape: op.domainShape, isComplex: false,
                           data: Array(t.data[(item * per)..<((item + 1) * per)]))
            let r = body(item, b)
            out.data.replaceSubrange((item * per)..<((item + 1) * per), with: r.data)
        }
        return out
    }

    /// The batch holds one real domain item per measurement.
    static func checkShapes(_ op: LinearOperator, measurements: [Buffer], x: Tensor, method: String) throws {
        guard !op.domainIsComplex else {
            throw TweedieError.badInput("\(method): the operator must act on real images (use its real-domain form)")
        }
        guard let n = x.shape.first, n == measurements.count, n > 0,
              x.count / n == op.domainShape.reduce(1, *) else {
            throw TweedieError.badInput("\(method): batch \(x.shape) does not hold \(measurements.count) images of "
                                        + "\(op.domainShape)")
        }
        for (i, y) in measurements.enumerated() where y.shape != op.rangeShape || y.isComplex != op.rangeIsComplex {
            throw TweedieError.badInput("\(method): measurements \(i) are \(y.shape) (complex \(y.isComplex)), the "
                                        + "operator gives \(op.rangeShape) (complex \(op.rangeIsComplex))")
        }
    }
}
