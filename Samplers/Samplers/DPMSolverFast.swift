import Foundation
import TweedieCore

extension Samplers {
    /// DPM-Solver-fast (k-diffusion's sample_dpm_fast; Lu et al. 2022, alg. 2 "DPM-Solver-fast"), eta = 0: the
    /// noise-prediction DPM-Solver in t = lambda = -log sigma with eps(x, t) = (x - D(x, sigma(t))) / sigma(t). A
    /// budget of n model calls becomes m = floor(n/3) + 1 steps, uniform in t, of orders 3, ..., 3 and a last
    /// step of order n mod 3 (or 2, 1 when 3 divides n): the DPM-Solver-1/2/3 updates x' = x - sigma' expm1(h) eps
    /// - ... (k-diffusion's dpm_solver_{1,2,3}_step, r1 = 1/2 for order 2, r1 = 1/3, r2 = 2/3 for order 3).
    ///
    /// The solver ignores the schedule's inner sigmas and takes the range from it as ComfyUI calls k-diffusion:
    /// sigma_max = sigmas[0], sigma_min = the last positive sigma, n = sigmas.count - 1 (the step count). k-diffusion
    /// stops at sigma_min; when the schedule ends in 0, Tweedie then takes the usual last step to 0, x = D(x,
    /// sigma_min), so a run costs n + 1 model calls. Steps are reported on the solver's own grid (m + 1 steps with
    /// that last one). Deterministic: no noise is drawn.
    public static func dpmFast(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                               noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dpm_fast")
        let range = try DPMSolverRange(sigmas, sampler: "dpm_fast")
        let solver = DPMSolverSteps(model: model, condition: condition)
        let n = sigmas.count - 1
        let m = n / 3 + 1
        let orders = n % 3 == 0 ? [Int](repeating: 3, count: max(0, m - 2)) + [2, 1]
            : [Int](repeating: 3, count: m - 1) + [n % 3]
        let ts = torchLinspace(range.tStart, range.tEnd, count: m + 1)
        // The reporting grid: the solver's sigmas, the ends exactly the schedule's, then 0 if the schedule has it.
        var grid = ts.map { Float(exp(-$0)) }
        grid[0] = sigmas[0]
        grid[m] = range.sigmaMin
        if range.endsInZero { grid.append(0) }

        var x = x
        for i in 0..<orders.count {
            let (eps, denoised) = try solver.eps(x, t: ts[i])
            switch orders[i] {
            case 1: x = solver.step1(x, t: ts[i], tNext: ts[i + 1], eps: eps)
            case 2: x = try solver.step2(x, t: ts[i], tNext: ts[i + 1], r1: 0.5, eps: eps).x
            default: x = try solver.step3(x, t: ts[i], tNext: ts[i + 1], eps: eps).x
            }
            if report(onStep, step: i, sigmas: grid, x: x, denoised: denoised) { return denoised }
        }
        if range.endsInZero {
            x = try model.denoise(x, sigma: range.sigmaMin, condition: condition)
            _ = report(onStep, step: orders.count, sigmas: grid, x: x, denoised: x)
        }
        return x
    }

    /// DPM-Solver-23 with adaptive step size (k-diffusion's sample_dpm_adaptive with its defaults: order 3,
    /// rtol 0.05, atol 0.0078, h_init 0.05, PID coefficients p 0, i 1, d 0, accept_safety 0.81, eta 0). Each
    /// attempt from s to t = min(t_end, s + h) computes DPM-Solver-2 (r1 = 1/3) and DPM-Solver-3 from the same
    /// three model calls; the error ||(x_low - x_high) / delta||_2 / sqrt(numel) with delta = max(atol, rtol
    /// max(|x_low|, |x_low of the previous accepted step|)) is taken over the whole batch, as in k-diffusion (so
    /// the images of a batch share one step-size sequence, and an image sampled alone can take other steps). The
    /// PID controller scales h by 1 + atan(f - 1), f = (1 / (error + 1e-8))^(1/3), and accepts when that factor is
    /// at least 0.81; an accepted attempt moves to x_high.
    ///
    /// Range as `dpmFast`: sigma_max = sigmas[0], sigma_min = the last positive sigma (ComfyUI's call); the inner
    /// sigmas and the step count are ignored. When the schedule ends in 0, the run ends with x = D(x, sigma_min).
    /// A rejected attempt reuses the model call at (x, s) (k-diffusion repeats it; the result is the same for a
    /// deterministic model), so a run costs 3 calls per accepted step, 2 per rejection and 1 for the last step.
    /// Steps are reported as they are accepted, `total` being the accepted count plus the remaining t range over
    /// the current h (an estimate). Deterministic: no noise is drawn.
    public static func dpmAdaptive(model: Denoiser, x: Tensor, sigmas: [Float], condition: Condition,
                                   noise: NoiseSource, onStep: StepCallback) throws -> Tensor {
        try dpmAdaptiveLoop(options: DPMAdaptiveOptions(), model: model, x: x, sigmas: sigmas, condition: condition,
                            onStep: onStep)
    }

    /// `dpmAdaptive` with other tolerances and controller settings.
    public static func dpmAdaptive(_ options: DPMAdaptiveOptions) -> Sampler {
        { model, x, sigmas, condition, _, onStep in
            try dpmAdaptiveLoop(options: options, model: model, x: x, sigmas: sigmas, condition: condition,
                                onStep: onStep)
        }
    }

    static func dpmAdaptiveLoop(options o: DPMAdaptiveOptions, model: Denoiser, x: Tensor, sigmas: [Float],
                                condition: Condition, onStep: StepCallback) throws -> Tensor {
        try validateSigmas(sigmas, sampler: "dpm_adaptive")
        let range = try DPMSolverRange(sigmas, sampler: "dpm_adaptive")
        let solver = DPMSolverSteps(model: model, condition: condition)
        let order = 3.0
        let b1 = (o.pcoeff + o.icoeff + o.dcoeff) / order, b2 = -(o.pcoeff + 2 * o.dcoeff) / order, b3 = o.dcoeff / order
        var h = abs(o.hInit)
        var errs: [Double] = []
        var s = range.tStart
        var x = x, xPrev = x
        var here: (eps: Tensor, denoised: Tensor)?
        var accepted = 0, attempts = 0
        while s < range.tEnd - 1e-5 {
            attempts += 1
            guard attempts <= o.maxAttempts else {
                throw TweedieError.runtime("sampler dpm_adaptive: no convergence after \(o.maxAttempts) attempts "
                                           + "(sigma \(exp(-s)), step \(h) in log sigma)")
            }
            let t = min(range.tEnd, s + h)
            if here == nil { here = try solver.eps(x, t: s) }
            let (eps, denoised) = here!
            let low = try solver.step2(x, t: s, tNext: t, r1: 1.0 / 3, eps: eps)
            let high = try solver.step3(x, t: s, tNext: t, eps: eps, epsR1: low.epsR1)
            // x_low - x_high straight from the slopes (no cancellation of x), in Float64.
            let hh = t - s, sigmaT = exp(-t), e = expm1(hh)
            let cLow = -sigmaT / (2.0 / 3) * e, cHigh = sigmaT / (2.0 / 3) * (e / hh - 1)
            var sum = 0.0
            eps.withUnsafeBufferPointer { pe in
                low.epsR1.withUnsafeBufferPointer { p1 in
                    high.epsR2.withUnsafeBufferPointer { p2 in
                        low.x.withUnsafeBufferPointer { pl in
                            xPrev.withUnsafeBufferPointer { pp in
                                for k in 0..<pe.count {
                                    let diff = cLow * Double(p1[k] - pe[k]) + cHigh * Double(p2[k] - pe[k])
                                    let delta = max(o.atol, o.rtol * Double(max(abs(pl[k]), abs(pp[k]))))
                                    sum += (diff / delta) * (diff / delta)
                                }
                            }
                        }
                    }
                }
            }
            let error = sum.squareRoot() / Double(x.count).squareRoot()
            guard error.isFinite else {
                throw TweedieError.runtime("sampler dpm_adaptive: the error estimate is not finite at sigma \(exp(-s))")
            }
            // k-diffusion's PIDStepSizeController.propose_step.
            let inverse = 1 / (error + 1e-8)
            if errs.isEmpty { errs = [inverse, inverse, inverse] }
            errs[0] = inverse
            let factor = 1 + atan(pow(errs[0], b1) * pow(errs[1], b2) * pow(errs[2], b3) - 1)
            let accept = factor >= o.acceptSafety
            if accept { errs[2] = errs[1]; errs[1] = errs[0] }
            h *= factor
            if accept {
                let from = exp(-s)
                xPrev = low.x
                x = high.x
                s = t
                here = nil
                accepted += 1
                let remaining = s < range.tEnd - 1e-5 ? Int(((range.tEnd - s) / h).rounded(.up)) : 0
                let info = StepInfo(step: accepted - 1, total: accepted + remaining + (range.endsInZero ? 1 : 0),
                                    sigma: Float(from), sigmaNext: s >= range.tEnd ? range.sigmaMin : Float(exp(-s)),
                                    x: x, denoised: denoised)
                if onStep(info) == .stop { return denoised }
            }
        }
        if range.endsInZero {
            x = try model.denoise(x, sigma: range.sigmaMin, condition: condition)
            _ = onStep(StepInfo(step: accepted, total: accepted + 1, sigma: range.sigmaMin, sigmaNext: 0, x: x,
                                denoised: x))
        }
        return x
    }

    /// torch.linspace in Float64: start + i * step for the first half, end - (count - 1 - i) * step for the rest.
    static func torchLinspace(_ start: Double, _ end: Double, count: Int) -> [Double] {
        guard count > 1 else { return [start] }
        let step = (end - start) / Double(count - 1)
        return (0..<count).map { i in i < count / 2 ? start + Double(i) * step : end - Double(count - 1 - i) * step }
    }
}

/// Settings of `Samplers.dpmAdaptive` (k-diffusion's sample_dpm_adaptive arguments, its defaults).
public struct DPMAdaptiveOptions: Sendable {
    /// Relative and absolute tolerance of the error estimate.
    public var rtol = 0.05, atol = 0.0078
    /// First step size in lambda = -log sigma.
    public var hInit = 0.05
    /// PID controller coefficients.
    public var pcoeff = 0.0, icoeff = 1.0, dcoeff = 0.0
    /// An attempt is accepted when the controller's factor is at least this.
    public var acceptSafety = 0.81
    /// Attempts before the run gives up (k-diffusion has no limit).
    public var maxAttempts = 10_000

    public init() {}
}

/// The sigma range dpm_fast and dpm_adaptive integrate over, taken from a schedule as ComfyUI does.
struct DPMSolverRange {
    let sigmaMin: Float
    let tStart: Double, tEnd: Double
    let endsInZero: Bool

    init(_ sigmas: [Float], sampler: String) throws {
        endsInZero = sigmas.last == 0
        sigmaMin = endsInZero ? sigmas[sigmas.count - 2] : sigmas[sigmas.count - 1]
        guard sigmaMin > 0 else {
            throw TweedieError.badInput("sampler \(sampler): needs a positive sigma before the final 0")
        }
        tStart = -log(Double(sigmas[0]))
        tEnd = -log(Double(sigmaMin))
    }
}

/// k-diffusion's DPMSolver steps in the noise-prediction form, t = -log sigma.
struct DPMSolverSteps {
    let model: Denoiser
    let condition: Condition

    func sigma(_ t: Double) -> Double { exp(-t) }

    /// eps(x, t) = (x - D(x, sigma(t))) / sigma(t), and D itself.
    func eps(_ x: Tensor, t: Double) throws -> (Tensor, Tensor) {
        let s = sigma(t)
        let denoised = try model.denoise(x, sigma: Float(s), condition: condition)
        return (lincomb(x, Float(1 / s), denoised, Float(-1 / s)), denoised)
    }

    /// DPM-Solver-1: x - sigma(t') expm1(h) eps.
    func step1(_ x: Tensor, t: Double, tNext: Double, eps: Tensor) -> Tensor {
        lincomb(x, 1, eps, Float(-sigma(tNext) * expm1(tNext - t)))
    }

    /// DPM-Solver-2 with intermediate point s1 = t + r1 h.
    func step2(_ x: Tensor, t: Double, tNext: Double, r1: Double, eps: Tensor) throws -> (x: Tensor, epsR1: Tensor) {
        let h = tNext - t, s1 = t + r1 * h
        let u1 = lincomb(x, 1, eps, Float(-sigma(s1) * expm1(r1 * h)))
        let (epsR1, _) = try self.eps(u1, t: s1)
        let a = sigma(tNext) * expm1(h), c = sigma(tNext) / (2 * r1) * expm1(h)
        // x - a eps - c (eps_r1 - eps)
        return (lincomb(x, 1, eps, Float(c - a), epsR1, Float(-c)), epsR1)
    }

    /// DPM-Solver-3 with r1 = 1/3, r2 = 2/3; `epsR1` reuses the slope at s1 when the caller has it.
    func step3(_ x: Tensor, t: Double, tNext: Double, eps: Tensor, epsR1 known: Tensor? = nil) throws
        -> (x: Tensor, epsR2: Tensor) {
        let r1 = 1.0 / 3, r2 = 2.0 / 3
        let h = tNext - t, s1 = t + r1 * h, s2 = t + r2 * h
        let epsR1: Tensor
        if let known { epsR1 = known } else {
            let u1 = lincomb(x, 1, eps, Float(-sigma(s1) * expm1(r1 * h)))
            epsR1 = try self.eps(u1, t: s1).0
        }
        // u2 = x - sigma(s2) expm1(r2 h) eps - sigma(s2) (r2/r1) (expm1(r2 h)/(r2 h) - 1) (eps_r1 - eps)
        let a2 = sigma(s2) * expm1(r2 * h), c2 = sigma(s2) * (r2 / r1) * (expm1(r2 * h) / (r2 * h) - 1)
        let u2 = lincomb(x, 1, eps, Float(c2 - a2), epsR1, Float(-c2))
        let (epsR2, _) = try self.eps(u2, t: s2)
        // x - sigma(t') expm1(h) eps - sigma(t')/r2 (expm1(h)/h - 1) (eps_r2 - eps)
        let a = sigma(tNext) * expm1(h), c = sigma(tNext) / r2 * (expm1(h) / h - 1)
        return (lincomb(x, 1, eps, Float(c - a), epsR2, Float(-c)), epsR2)
    }
}
