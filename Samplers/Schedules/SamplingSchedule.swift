import Foundation
import TweedieCore

/// Which diffusers scheduler's timestep layout a schedule reproduces; chosen by the sampler
/// (`SamplerRegistry.family(of:)`).
public enum ScheduleFamily: String, Sendable {
    /// DDPMScheduler: integer timesteps; the step after the last one lands on sigma 0.
    case ddpm
    /// DDIMScheduler: integer timesteps; the last step lands on sigma 0 or on sigma(t=0) (`set_alpha_to_one`).
    case ddim
    /// EulerDiscreteScheduler and relatives: fractional timesteps, sigmas interpolated linearly, then 0.
    case euler
    /// DPMSolverMultistepScheduler: n + 1 spaced timesteps with the last dropped, then 0 (or sigma_min).
    case dpmSolver
}

/// How the inference noise levels are chosen.
public enum SigmaSpacing: Equatable, Sendable {
    /// diffusers' timestep_spacing conventions (for the family), with `steps_offset` from the config.
    case leading, trailing, linspace
    /// Karras et al. (2022) rho-spaced sigmas; nil bounds mean the model's training range.
    case karras(rho: Double = 7, sigmaMin: Double? = nil, sigmaMax: Double? = nil)
    /// Sigmas evenly spaced in log sigma; nil bounds mean the model's training range.
    case exponential(sigmaMin: Double? = nil, sigmaMax: Double? = nil)
    /// An explicit descending list; a final 0 is appended when missing.
    case custom([Float])
}

/// The noise levels of one sampling run: descending `sigmas` ending in 0 (or in sigma(t=0) for DDIM without
/// set_alpha_to_one), the model timestep of each step, and the scale of the initial noise.
public struct SamplingSchedule: Equatable, Sendable {
    /// Noise levels, sigmas[0] the start; one step moves from sigmas[i] to sigmas[i + 1].
    public var sigmas: [Float]
    /// The (possibly fractional) training timestep of each step start (count = sigmas.count - 1).
    public var timesteps: [Float]
    /// Standard deviation to give the initial noise in sigma space (x_T = noise * initNoiseSigma): diffusers'
    /// convention per family (sqrt(1 + sigma_max^2) for VP-space schedulers and Euler with leading spacing).
    public var initNoiseSigma: Float

    /// A schedule from explicit parts.
    public init(sigmas: [Float], timesteps: [Float], initNoiseSigma: Float) {
        self.sigmas = sigmas; self.timesteps = timesteps; self.initNoiseSigma = initNoiseSigma
    }

    /// The schedule diffusers' scheduler of `family` would use for `steps` steps under `config`; `spacing`
    /// overrides the config's timestep_spacing / use_karras_sigmas / use_exponential_sigmas.
    public init(config: SchedulerConfig, steps: Int, family: ScheduleFamily, spacing: SigmaSpacing? = nil) throws {
        let T = config.numTrainTimesteps
        guard steps >= 1, steps <= T else {
            throw TweedieError.badInput("--steps must be between 1 and num_train_timesteps (\(T)), got \(steps)")
        }
        let table = VPSigmaTable(alphasCumprod: NoiseSchedule.alphasCumprod(config))
        let chosen: SigmaSpacing = spacing ?? {
            if config.useKarrasSigmas { return .karras() }
            if config.useExponentialSigmas { return .exponential() }
            switch config.timestepSpacing {
            case .leading: return .leading
            case .trailing: return .trailing
            case .linspace: return .linspace
            }
        }()
        var sigmas: [Double]
        var timesteps: [Double]
        switch chosen {
        case .leading, .trailing, .linspace:
            let sp: TimestepSpacing = chosen == .leading ? .leading : chosen == .trailing ? .trailing : .linspace
            timesteps = SamplingSchedule.timesteps(family: family, spacing: sp, steps: steps, train: T,
                                                   offset: config.stepsOffset)
            if let bad = timesteps.first(where: { $0 < 0 || $0 > Double(T - 1) }) {
                throw TweedieError.badInput("steps_offset \(config.stepsOffset) puts timestep \(bad) outside 0..<\(T)")
            }
            sigmas = timesteps.map { family == .euler ? table.linearSigma(forTimestep: $0) : table.sigmas[Int($0)] }
            sigmas.append(SamplingSchedule.finalSigma(family: family, config: config, table: table,
                                                      lastTimestep: timesteps.last!, steps: steps))
        case .karras(let rho, let lo, let hi):
            sigmas = SamplingSchedule.karras(steps: steps, sigmaMin: lo ?? table.sigmaMin, sigmaMax: hi ?? table.sigmaMax,
                                             rho: rho)
            timesteps = sigmas.dropLast().map { table.timestep(forSigma: $0) }
        case .exponential(let lo, let hi):
            sigmas = SamplingSchedule.exponential(steps: steps, sigmaMin: lo ?? table.sigmaMin, sigmaMax: hi ?? table.sigmaMax)
            timesteps = sigmas.dropLast().map { table.timestep(forSigma: $0) }
        case .custom(let list):
            guard !list.isEmpty else { throw TweedieError.badInput("custom sigmas: the list is empty") }
            sigmas = list.map(Double.init)
            if sigmas.last != 0 { sigmas.append(0) }
            for i in 0..<(sigmas.count - 1) where !(sigmas[i] > sigmas[i + 1]) {
                throw TweedieError.badInput("custom sigmas must be strictly descending and positive (entry \(i): \(sigmas[i]))")
            }
            timesteps = sigmas.dropLast().map { table.timestep(forSigma: $0) }
        }
        self.sigmas = sigmas.map { Float($0) }
        self.timesteps = timesteps.map { Float($0) }
        let s0 = Double(self.sigmas[0])
        let vpStart = family != .euler || config.timestepSpacing == .leading
        self.initNoiseSigma = Float(vpStart ? (s0 * s0 + 1).squareRoot() : s0)
    }

    /// diffusers' inference timesteps of a family and spacing, descending.
    public static func timesteps(family: ScheduleFamily, spacing: TimestepSpacing, steps n: Int, train T: Int,
                                 offset: Int) -> [Double] {
        switch (family, spacing) {
        case (.dpmSolver, .linspace):
            return Array(linspace(0, Double(T - 1), n + 1).map { roundHalfEven($0) }.reversed().dropLast())
        case (.dpmSolver, .leading):
            let ratio = T / (n + 1)
            return Array((0...n).map { Double($0 * ratio + offset) }.reversed().dropLast())
        case (_, .linspace):
            let raw = linspace(0, Double(T - 1), n)
            return (family == .euler ? raw.map { Double(Float($0)) } : raw.map { roundHalfEven($0) }).reversed()
        case (_, .leading):
            let ratio = T / n
            return (0..<n).map { Double($0 * ratio + offset) }.reversed()
        case (_, .trailing):
            // numpy's arange(T, 0, -T/n): ceil((0 - T) / step) values T + i * step.
            let step = -(Double(T) / Double(n))
            let count = Int((-Double(T) / step).rounded(.up))
            return (0..<count).map { roundHalfEven(Double(T) + Double($0) * step) - 1 }
        }
    }

    /// Where the last step lands.
    static func finalSigma(family: ScheduleFamily, config: SchedulerConfig, table: VPSigmaTable, lastTimestep: Double,
                           steps: Int) -> Double {
        switch family {
        case .ddpm:
            return 0
        case .ddim:
            let prev = Int(lastTimestep) - config.numTrainTimesteps / steps
            if prev >= 0 { return table.sigmas[prev] }
            return config.setAlphaToOne ? 0 : table.sigmas[0]
        case .euler, .dpmSolver:
            return config.finalSigmaIsZero ? 0 : table.sigmas[0]
        }
    }

    /// Karras et al. (2022) eq. 5: sigma_i = (max^(1/rho) + i/(n-1) (min^(1/rho) - max^(1/rho)))^rho, then 0.
    public static func karras(steps n: Int, sigmaMin: Double, sigmaMax: Double, rho: Double = 7) -> [Double] {
        let lo = pow(sigmaMin, 1 / rho), hi = pow(sigmaMax, 1 / rho)
        return linspace(0, 1, n).map { pow(hi + $0 * (lo - hi), rho) } + [0]
    }

    /// exp(linspace(log max, log min, n)), then 0.
    public static func exponential(steps n: Int, sigmaMin: Double, sigmaMax: Double) -> [Double] {
        linspace(log(sigmaMax), log(sigmaMin), n).map { exp($0) } + [0]
    }

    /// numpy's linspace (endpoint included, last value exact).
    static func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
        guard n > 1 else { return [a] }
        let step = (b - a) / Double(n - 1)
        return (0..<n).map { $0 == n - 1 ? b : a + Double($0) * step }
    }

    /// numpy's round (half to even).
    static func roundHalfEven(_ v: Double) -> Double { v.rounded(.toNearestOrEven) }
}
