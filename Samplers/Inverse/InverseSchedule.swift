import TweedieCore

/// The time grids DDS and DPS run on, as their official code builds them, in sigma space.
public enum InverseSchedule {
    /// DDS's grid (solver_2d.py): skip = T / steps, timesteps T − skip, …, skip, 0 (for T = 1000 and 50 steps:
    /// 980, 960, …, 20, 0), then a final 0 (ᾱ = 1). So `steps` denoiser calls, the last at σ(t = 0), and the run
    /// returns that call's data-consistent x̂0′ without noise.
    public static func ddsSigmas(_ table: VPSigmaTable, steps: Int) -> [Float] {
        timesteps(count: table.count, steps: steps).map { Float(table.sigmas[$0]) } + [0]
    }

    /// `steps` training timesteps spaced by ⌊T / steps⌋ from 0, descending (all T of them for steps = T, DPS's
    /// default); `steps` must be in 1...T.
    public static func timesteps(count t: Int, steps: Int) -> [Int] {
        precondition(steps >= 1 && steps <= t, "InverseSchedule: \(steps) steps for \(t) training timesteps")
        let skip = t / steps
        return (0..<steps).map { $0 * skip }.reversed()
    }
}
