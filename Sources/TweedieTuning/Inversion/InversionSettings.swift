import Foundation
import TweedieCore

/// The knobs of `tweedie invert`, stored in checkpoints and in the embedding file's metadata.
public struct InversionSettings: Codable, Equatable, Sendable {
    /// How the row's gradient is obtained.
    public enum Method: String, Codable, CaseIterable, Sendable {
        /// ZOODiP: forward differences along regenerated random directions (no backward pass).
        case zo
        /// Reverse mode through the frozen network to the one row (the Float32 baseline).
        case backprop
    }

    public var method: Method = .zo
    /// Optimiser updates.
    public var steps = 200
    /// Reference images per update.
    public var batch = 4
    /// Learning rate of Adam (ZOODiP's shipped script: 1e-2).
    public var learningRate: Float = 1e-2
    /// Adam's ε: ZOODiP's ZO-Adam uses 1e-3 (comparable to |ĝ|, so it shapes the steps); the backprop baseline
    /// takes PyTorch's 1e-8.
    public var adamEpsilon: Float?
    /// Seed of the draws (images, timesteps, noise) and of the directions.
    public var seed: UInt64 = 0
    /// Directions n per estimate (argparse default 1, shipped script 2).
    public var directions = 2
    /// Perturbation size μ (hard-coded 1e-3 in the official code).
    public var mu: Float = 1e-3
    /// Subspace gradient on/off.
    public var subspace = true
    /// Snapshots per PCA (official τ 128; fewer here, where runs are a few hundred updates).
    public var tau = 32
    /// Variance fraction treated as noise (argparse default 0.99, shipped script 1e-3).
    public var nu = 1e-3
    /// PUTS on (timesteps from the band with ZOODiP's noise levels) or off (all timesteps).
    public var puts = true
    /// The row starts as this class's row; nil: the mean of the real classes' rows.
    public var initClass: Int?
    /// The concept's name.
    public var label = "concept"

    public init() {}

    /// Adam's ε in use.
    public var epsilon: Float { adamEpsilon ?? (method == .zo ? 1e-3 : 1e-8) }

    /// Network calls of one update: n + 1 forward passes (ZO), or one forward and one backward pass.
    public var passesPerStep: String { method == .zo ? "\(directions + 1) forward" : "1 forward + 1 backward" }

    /// Fails with `badInput` naming the flag of the first value out of range.
    public func validate() throws {
        func fail(_ flag: String, _ what: String) -> TweedieError { .badInput("\(flag): \(what)") }
        guard steps >= 1 else { throw fail("--steps", "must be at least 1, got \(steps)") }
        guard batch >= 1 else { throw fail("--batch", "must be at least 1, got \(batch)") }
        guard learningRate > 0, learningRate.isFinite else { throw fail("--lr", "must be a positive number, got \(learningRate)") }
        if let e = adamEpsilon, !(e > 0 && e.isFinite) { throw fail("--adam-eps", "must be a positive number, got \(e)") }
        guard directions >= 1, directions <= 64 else { throw fail("--directions", "must be in 1...64, got \(directions)") }
        guard mu > 0, mu.isFinite else { throw fail("--mu", "must be a positive number, got \(mu)") }
        guard tau >= 2 else { throw fail("--tau", "must be at least 2, got \(tau)") }
        guard nu > 0, nu < 1 else { throw fail("--nu", "must be in (0, 1), got \(nu)") }
    }

    /// Compact JSON (sorted keys).
    public var json: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Settings from `json`; `source` names it in errors.
    public init(json: String, source: String) throws {
        do { self = try JSONDecoder().decode(Self.self, from: Data(json.utf8)) } catch {
            throw TweedieError.badInput("\(source): inversion settings are not readable")
        }
    }
}
