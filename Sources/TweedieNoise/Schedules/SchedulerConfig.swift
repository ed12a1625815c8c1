import Foundation
import TweedieCore

/// What a VP network predicts (diffusers' `prediction_type`).
public enum PredictionType: String, CaseIterable, Sendable {
    /// The added noise eps.
    case epsilon
    /// v = sqrt(abar) * eps - sqrt(1 - abar) * x0 (Salimans & Ho).
    case vPrediction = "v_prediction"
    /// The clean sample x0 itself.
    case sample
}

/// Where the inference timesteps sit among the training timesteps (diffusers' `timestep_spacing`).
public enum TimestepSpacing: String, CaseIterable, Sendable {
    case leading, trailing, linspace
}

/// The fields of a diffusers `scheduler_config.json` the engine uses. Absent keys take the defaults of the class
/// named in `_class_name` (DDIM/DDPM: leading spacing and clip_sample on; other classes: linspace, no clipping).
public struct SchedulerConfig: Equatable, Sendable {
    public var className: String?
    public var numTrainTimesteps = 1000
    public var betaStart = 0.0001
    public var betaEnd = 0.02
    public var betaSchedule = BetaSchedule.linear
    /// Explicit training betas (`trained_betas`), overriding the schedule when present.
    public var trainedBetas: [Double]?
    public var predictionType = PredictionType.epsilon
    public var timestepSpacing = TimestepSpacing.leading
    public var stepsOffset = 0
    public var clipSample = false
    public var clipSampleRange = 1.0
    /// DDIM: whether the step past t = 0 lands on abar = 1 (sigma 0) or on abar_0.
    public var setAlphaToOne = true
    public var useKarrasSigmas = false
    public var useExponentialSigmas = false
    /// "zero" or "sigma_min": the last sigma of Euler/DPM-Solver schedules.
    public var finalSigmaIsZero = true
    /// diffusers' `variance_type` (e.g. "fixed_small", "learned_range"); learned ranges mean a learned-sigma model.
    public var varianceType: String?

    /// Largest `num_train_timesteps` accepted (diffusers' models use 1000; the sigma tables grow with it).
    public static let maxTrainTimesteps = 100_000

    /// Defaults of diffusers' DDPMScheduler.
    public init() {}

    /// Reads a scheduler_config.json; wrong-typed or unknown values are `badInput` naming the file and key.
    public init(path: String) throws {
        try self.init(config: try JSONConfig(path: path))
    }

    /// Reads the fields from a decoded JSON object; `source` names it in errors.
    public init(dictionary d: [String: Any], source: String = "scheduler_config.json") throws {
        try self.init(config: JSONConfig(object: d, path: source))
    }

    /// Reads the fields from a parsed config (`r.path` names it in errors).
    public init(config r: JSONConfig) throws {
        let source = r.path
        className = try r.string("_class_name")
        let discrete = ["DDIMScheduler", "DDPMScheduler", "PNDMScheduler"].contains(className ?? "DDPMScheduler")
        numTrainTimesteps = try r.int("num_train_timesteps") ?? 1000
        guard numTrainTimesteps >= 2, numTrainTimesteps <= SchedulerConfig.maxTrainTimesteps else {
            throw TweedieError.badInput("\(source): num_train_timesteps must be in 2...\(SchedulerConfig.maxTrainTimesteps), "
                                        + "got \(numTrainTimesteps)")
        }
        betaStart = try r.double("beta_start") ?? 0.0001
        betaEnd = try r.double("beta_end") ?? 0.02
        betaSchedule = try r.enumValue("beta_schedule", BetaSchedule.self) ?? .linear
        trainedBetas = try r.doubles("trained_betas")
        if let tb = trainedBetas, tb.count != numTrainTimesteps {
            throw TweedieError.badInput("\(source): trained_betas has \(tb.count) values, num_train_timesteps is \(numTrainTimesteps)")
        }
        // Betas outside (0, 1) make alphas_cumprod negative or zero and every sigma NaN or infinite.
        let betas = trainedBetas ?? NoiseSchedule.betas(betaSchedule, count: numTrainTimesteps, betaStart: betaStart,
                                                         betaEnd: betaEnd)
        if let k = betas.firstIndex(where: { !($0 > 0 && $0 < 1) }) {
            let field = trainedBetas != nil ? "trained_betas[\(k)] = \(betas[k])"
                : "beta_start \(betaStart), beta_end \(betaEnd) give beta \(betas[k]) at timestep \(k)"
            throw TweedieError.badInput("\(source): \(field); betas must lie in (0, 1)")
        }
        predictionType = try r.enumValue("prediction_type", PredictionType.self) ?? .epsilon
        timestepSpacing = try r.enumValue("timestep_spacing", TimestepSpacing.self) ?? (discrete ? .leading : .linspace)
        stepsOffset = try r.int("steps_offset") ?? 0
        clipSample = try r.bool("clip_sample") ?? ["DDIMScheduler", "DDPMScheduler"].contains(className ?? "DDPMScheduler")
        clipSampleRange = try r.double("clip_sample_range") ?? 1.0
        setAlphaToOne = try r.bool("set_alpha_to_one") ?? true
        useKarrasSigmas = try r.bool("use_karras_sigmas") ?? false
        useExponentialSigmas = try r.bool("use_exponential_sigmas") ?? false
        if let f = try r.string("final_sigmas_type") {
            guard f == "zero" || f == "sigma_min" else {
                throw TweedieError.badInput("\(source): final_sigmas_type must be zero or sigma_min, got \(f)")
            }
            finalSigmaIsZero = f == "zero"
        }
        varianceType = try r.string("variance_type")
        if try r.bool("rescale_betas_zero_snr") == true {
            throw TweedieError.badInput("\(source): rescale_betas_zero_snr is not supported")
        }
        if try r.bool("thresholding") == true {
            throw TweedieError.badInput("\(source): thresholding (dynamic) is not supported")
        }
    }
}
