import Foundation
import TweedieCore
import TweedieSamplers

/// Every knob of a sampling run, in the vocabulary of `tweedie generate`. A value of this type plus the model and
/// the noise it names re-creates a run bit for bit; image metadata stores it as JSON (snake_case keys).
public struct GenerationSettings: Codable, Equatable, Sendable {
    /// Sampler name (`SamplerRegistry.names`).
    public var sampler = "euler_a"
    /// Number of sampling steps.
    public var steps = 20
    /// Sigma spacing: default (the scheduler config's), karras, exponential, leading, trailing, linspace or
    /// custom (then `sigmas` holds the list).
    public var schedule = "default"
    /// Explicit noise levels for `schedule == "custom"`.
    public var sigmas: [Float]?
    /// Noise scale of ddim / euler_a (nil: the sampler's default, 0 for ddim and 1 for euler_a).
    public var eta: Float?
    /// "none" or a `GuiderRegistry` name (cfg, apg).
    public var guidance = "none"
    /// Guidance scale w (diffusers' convention: 1 = conditional only).
    public var cfgScale: Float = 3
    /// A value for every registered guider parameter (`GuiderRegistry.parameters`, e.g. guidance_rescale,
    /// apg_eta), stored under its key in the metadata; `guidanceParameter(_:)` falls back to the default.
    public var guidanceParameters: [String: Float] =
        Dictionary(uniqueKeysWithValues: GuiderRegistry.parameters.map { ($0.key, $0.defaultValue) })
    /// Guided fraction of the run [start, stop); nil: the whole run.
    public var guidanceInterval: [Double]?
    /// philox (keyed per image and purpose) or torch (torch.randn-exact, one generator per image).
    public var rng = "philox"
    /// Base seed: image i of the run uses seed + startIndex + i.
    public var seed: UInt64 = 0
    /// Class id for every image; nil: each image gets `ClassSpace.defaultClass(forImage:)` (unconditional
    /// networks ignore it).
    public var classID: Int?
    /// Images in the run.
    public var batchCount = 1
    /// Global index of the first image (seed offset and output numbering).
    public var startIndex = 0
    /// A safetensors file whose `sample` tensor holds the unit initial noise instead of the rng's draw.
    public var latents: String?
    /// Which entry of the latents file's batch image 0 starts from (re-making one image of a batch).
    public var latentsOffset = 0
    /// A class embedding file (`tweedie invert`) whose concept is added as a class before sampling.
    public var embedding: String?
    /// Convolution precision: nil (Float32) or "bf16" (`ComputePrecision`); the images depend on it.
    public var precision: String?

    /// The defaults of `tweedie generate`.
    public init() {}

    /// The value of guider parameter `key` (its default when unset).
    public func guidanceParameter(_ key: String) -> Float {
        guidanceParameters[key] ?? GuiderRegistry.parameters.first { $0.key == key }?.defaultValue ?? 0
    }

    /// Schedule names `--schedule` accepts.
    public static let scheduleNames = ["default", "karras", "exponential", "leading", "trailing", "linspace"]
    /// Guidance names `--guidance` accepts.
    public static var guidanceNames: [String] { GuiderRegistry.names }
    /// Noise generator names `--rng` accepts.
    public static let rngNames = ["philox", "torch"]

    /// The seed of image `i` of the run.
    public func seed(ofImage i: Int) throws -> UInt64 {
        let (a, o1) = seed.addingReportingOverflow(UInt64(startIndex))
        let (b, o2) = a.addingReportingOverflow(UInt64(i))
        guard !o1 && !o2, b <= UInt64(Int64.max) else {
            throw TweedieError.badInput("--seed \(seed) + --start-index \(startIndex) + \(i) exceeds \(Int64.max)")
        }
        return b
    }

    /// Checks values that do not depend on the model; each failure is `badInput` naming the flag.
    public func validate() throws {
        guard steps >= 1 else { throw TweedieError.badInput("--steps must be at least 1, got \(steps)") }
        guard steps <= ResourceLimits.maxSteps else {
            throw TweedieError.badInput("--steps \(steps) exceeds the engine's limit of \(ResourceLimits.maxSteps)")
        }
        _ = try SamplerRegistry.family(of: sampler)
        guard GenerationSettings.scheduleNames.contains(schedule) || schedule == "custom" else {
            throw TweedieError.badInput("--schedule \(schedule) is unknown; valid: "
                                        + GenerationSettings.scheduleNames.joined(separator: ", "))
        }
        if schedule == "custom" && (sigmas ?? []).isEmpty {
            throw TweedieError.badInput("--sigmas: a custom schedule needs at least one sigma")
        }
        if let s = sigmas, s.count > ResourceLimits.maxSteps + 1 {
            throw TweedieError.badInput("--sigmas: \(s.count) values exceed the engine's limit of "
                                        + "\(ResourceLimits.maxSteps + 1)")
        }
        if let s = sigmas, let bad = s.first(where: { !$0.isFinite || $0 < 0 }) {
            throw TweedieError.badInput("--sigmas: \(bad) is not a finite non-negative number")
        }
        _ = try GuiderRegistry.description(named: guidance)
        guard cfgScale.isFinite, cfgScale >= 0, cfgScale <= ResourceLimits.maxCFGScale else {
            throw TweedieError.badInput("--cfg-scale must be a number in [0, \(Int(ResourceLimits.maxCFGScale))], "
                                        + "got \(cfgScale)")
        }
        let known = GuiderRegistry.parameters
        for p in known { try p.validate(guidanceParameter(p.key)) }
        if let unknown = guidanceParameters.keys.sorted().first(where: { k in !known.contains { $0.key == k } }) {
            throw TweedieError.badInput("guidance parameter \(unknown) is unknown; valid: "
                                        + known.map(\.key).joined(separator: ", "))
        }
        if let iv = guidanceInterval {
            guard iv.count == 2, 0 <= iv[0], iv[0] <= iv[1], iv[1] <= 1 else {
                throw TweedieError.badInput("--guidance-interval must be START,STOP with 0 <= START <= STOP <= 1, "
                                            + "got \(iv.map { String($0) }.joined(separator: ","))")
            }
        }
        if let e = eta {
            guard e.isFinite, e >= 0 else { throw TweedieError.badInput("--eta must be a finite number >= 0, got \(e)") }
            guard ["ddim", "euler_a"].contains(sampler) else {
                throw TweedieError.badInput("--eta applies to the ddim and euler_a samplers, not \(sampler)")
            }
        }
        guard GenerationSettings.rngNames.contains(rng) else {
            throw TweedieError.badInput("--rng \(rng) is unknown; valid: " + GenerationSettings.rngNames.joined(separator: ", "))
        }
        guard seed <= UInt64(Int64.max) else { throw TweedieError.badInput("--seed must be at most \(Int64.max)") }
        guard batchCount >= 1 else { throw TweedieError.badInput("--batch-count must be at least 1, got \(batchCount)") }
        guard batchCount <= ResourceLimits.maxBatchCount else {
            throw TweedieError.badInput("--batch-count \(batchCount) exceeds the engine's limit of "
                                        + "\(ResourceLimits.maxBatchCount) images per run (split it with --start-index)")
        }
        guard startIndex >= 0 else { throw TweedieError.badInput("--start-index must be >= 0, got \(startIndex)") }
        guard latentsOffset >= 0 else { throw TweedieError.badInput("latents offset must be >= 0, got \(latentsOffset)") }
        if let p = precision { _ = try ComputePrecision.named(p) }
        _ = try seed(ofImage: batchCount - 1)
    }

    /// Images `first..<first + count` of this run as a run of their own: same seeds, noise streams, classes and
    /// latents rows, so sampling a run in chunks gives the images of sampling it at once.
    public func chunk(first: Int, count: Int) -> GenerationSettings {
        var c = self
        c.startIndex = startIndex + first
        c.batchCount = count
        if latents != nil { c.latentsOffset = latentsOffset + first }
        return c
    }

    /// The sigma spacing these settings ask for (nil: the scheduler config's own).
    public var spacing: SigmaSpacing? {
        switch schedule {
        case "karras": return .karras()
        case "exponential": return .exponential()
        case "leading": return .leading
        case "trailing": return .trailing
        case "linspace": return .linspace
        case "custom": return .custom(sigmas ?? [])
        default: return nil
        }
    }

    /// The sampler function, with `eta` applied where the sampler takes one.
    public func makeSampler() throws -> Sampler {
        switch (sampler, eta) {
        case ("ddim", let e?): return Samplers.ddim(eta: e)
        case ("euler_a", let e?): return Samplers.ancestral(eta: e)
        default: return try SamplerRegistry.sampler(named: sampler)
        }
    }

    /// The guidance rule, or nil for none.
    public func makeGuider() throws -> Guider? {
        guard let description = try GuiderRegistry.description(named: guidance) else { return nil }
        let values = Dictionary(uniqueKeysWithValues: description.parameters.map { ($0.key, guidanceParameter($0.key)) })
        let inner = description.build(cfgScale, values)
        guard let iv = guidanceInterval else { return inner }
        return try GuidanceInterval(inner, start: iv[0], stop: iv[1])
    }
}
