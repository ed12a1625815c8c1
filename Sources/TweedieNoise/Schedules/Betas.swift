import Foundation
import TweedieCore

/// How the training betas are laid out over the timesteps (diffusers' `beta_schedule`).
public enum BetaSchedule: String, CaseIterable, Sendable {
    /// Betas evenly spaced from beta_start to beta_end.
    case linear
    /// Square roots evenly spaced, then squared (Stable Diffusion).
    case scaledLinear = "scaled_linear"
    /// The cosine alpha-bar of Nichol & Dhariwal, betas capped at 0.999 (diffusers' betas_for_alpha_bar).
    case squaredcosCapV2 = "squaredcos_cap_v2"
}

/// Training noise schedules of VP (DDPM-trained) models.
public enum NoiseSchedule {
    /// The `count` training betas. Each is rounded to Float32 as diffusers stores them (torch float32 tensors).
    public static func betas(_ schedule: BetaSchedule, count: Int, betaStart: Double, betaEnd: Double) -> [Double] {
        let ramp: (Double, Double) -> [Double] = { a, b in
            (0..<count).map { count == 1 ? a : a + (b - a) * Double($0) / Double(count - 1) }
        }
        let raw: [Double]
        switch schedule {
        case .linear:
            raw = ramp(betaStart, betaEnd)
        case .scaledLinear:
            raw = ramp(betaStart.squareRoot(), betaEnd.squareRoot()).map { $0 * $0 }
        case .squaredcosCapV2:
            let alphaBar: (Double) -> Double = { t in
                let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
                return c * c
            }
            raw = (0..<count).map { i in
                let t1 = Double(i) / Double(count), t2 = Double(i + 1) / Double(count)
                return min(1 - alphaBar(t2) / alphaBar(t1), 0.999)
            }
        }
        return raw.map { Double(Float($0)) }
    }

    /// Cumulative products of (1 - beta) with diffusers' rounding: alphas = 1 - beta in Float32, the running
    /// product in Float64 (torch's CPU cumprod accumulator), each output rounded to Float32. Matching that rounding
    /// matters where 1 - beta is small (capped cosine betas) and for sigma <-> timestep conversions.
    public static func alphasCumprod(betas: [Double]) -> [Double] {
        var out = [Double]()
        out.reserveCapacity(betas.count)
        var acc = 1.0
        for b in betas {
            acc *= Double(Float(1) - Float(b))
            out.append(Double(Float(acc)))
        }
        return out
    }

    /// alphas_cumprod of a scheduler configuration (its trained betas if given, else its beta schedule).
    public static func alphasCumprod(_ config: SchedulerConfig) -> [Double] {
        let b = config.trainedBetas ?? betas(config.betaSchedule, count: config.numTrainTimesteps,
                                             betaStart: config.betaStart, betaEnd: config.betaEnd)
        return alphasCumprod(betas: b)
    }
}
