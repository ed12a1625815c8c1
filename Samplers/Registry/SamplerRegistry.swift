import Foundation
import TweedieCore

/// Maps sampler names to samplers and to the diffusers timestep layout each expects. Built in (16): ddpm, ddim,
/// euler, euler_a, heun, dpm2, dpmpp_2m, dpmpp_2m_sde, and k-diffusion's lms, dpm2_a, dpmpp_2s_a, dpmpp_sde,
/// dpmpp_3m_sde, dpm_fast, dpm_adaptive, plus uni_pc_bh2 (diffusers' UniPC); names follow stable-diffusion.cpp and
/// ComfyUI. `register(name:_:)` adds or replaces one (thread-safe).
public enum SamplerRegistry {
    private struct Entry {
        let sampler: Sampler
        let family: ScheduleFamily
    }

    private static let lock = NSLock()
    private static let builtIn: [String: Entry] = [
        "ddpm": Entry(sampler: Samplers.ddpm, family: .ddpm),
        "ddim": Entry(sampler: Samplers.ddim(eta: 0), family: .ddim),
        "euler": Entry(sampler: Samplers.euler, family: .euler),
        "euler_a": Entry(sampler: Samplers.eulerAncestral, family: .euler),
        "heun": Entry(sampler: Samplers.heun, family: .euler),
        "dpm2": Entry(sampler: Samplers.dpm2, family: .euler),
        "dpmpp_2m": Entry(sampler: Samplers.dpmpp2m, family: .dpmSolver),
        "dpmpp_2m_sde": Entry(sampler: Samplers.dpmpp2mSDE, family: .dpmSolver),
        "lms": Entry(sampler: Samplers.lms, family: .euler),
        "dpm2_a": Entry(sampler: Samplers.dpm2Ancestral, family: .euler),
        "dpmpp_2s_a": Entry(sampler: Samplers.dpmpp2SAncestral, family: .euler),
        "dpmpp_sde": Entry(sampler: Samplers.dpmppSDE, family: .euler),
        "dpmpp_3m_sde": Entry(sampler: Samplers.dpmpp3MSDE, family: .euler),
        "dpm_fast": Entry(sampler: Samplers.dpmFast, family: .euler),
        "dpm_adaptive": Entry(sampler: Samplers.dpmAdaptive, family: .euler),
        "uni_pc_bh2": Entry(sampler: Samplers.uniPCBH2, family: .dpmSolver),
    ]
    nonisolated(unsafe) private static var entries = builtIn

    /// The names registered at start-up, before any `register(name:_:)` call, sorted.
    public static let builtInNames: [String] = builtIn.keys.sorted()

    /// Adds (or replaces) a sampler under `name`; `family` picks the timestep layout its schedules use.
    public static func register(name: String, family: ScheduleFamily = .euler, _ sampler: @escaping Sampler) {
        lock.lock(); defer { lock.unlock() }
        entries[name] = Entry(sampler: sampler, family: family)
    }

    /// All registered names, sorted.
    public static var names: [String] {
        lock.lock(); defer { lock.unlock() }
        return entries.keys.sorted()
    }

    /// The sampler called `name`; unknown names are `badInput` listing the valid ones.
    public static func sampler(named name: String) throws -> Sampler { try entry(name).sampler }

    /// The schedule family the sampler called `name` expects.
    public static func family(of name: String) throws -> ScheduleFamily { try entry(name).family }

    private static func entry(_ name: String) throws -> Entry {
        lock.lock(); defer { lock.unlock() }
        guard let e = entries[name] else {
            throw TweedieError.badInput("--sampler \(name) is unknown; valid: " + entries.keys.sorted().joined(separator: ", "))
        }
        return e
    }
}

extension SamplingSchedule {
    /// The schedule for the sampler registered as `sampler`: its family's diffusers timestep layout under `config`.
    public init(config: SchedulerConfig, steps: Int, sampler: String, spacing: SigmaSpacing? = nil) throws {
        try self.init(config: config, steps: steps, family: SamplerRegistry.family(of: sampler), spacing: spacing)
    }
}
