import Foundation
import TweedieCore

/// Which sampling steps carry gradients in reward backpropagation (AlignProp's truncated backpropagation). A step
/// without gradients still passes them along its latent path (the network output alone is detached), as in the
/// official code; nothing trainable lies before the first step with gradients, so those steps run without a tape.
///
/// - `last(K)`: the last K steps (`last:1` is AlignProp's K = 1; `full` is every step).
/// - `gaussian(mean, std)`: the current official code's default, drawn once per trajectory: k, the number of
///   leading steps without gradients, is N(mean, std) rounded to the nearest integer and redrawn until
///   1 ≤ k < steps; then the last steps − k carry gradients (gaussian:42,5 of 50 steps gives K ≈ 8).
/// - `perStep`: the original code's draw: at every step i an independent k ~ U{0, ..., steps}, and the step keeps
///   its gradient when i ≥ k (probability (i + 1)/(steps + 1)); not contiguous, unlike the paper's description.
public enum Truncation: Equatable, Sendable, CustomStringConvertible {
    case last(Int)
    case gaussian(mean: Double, std: Double)
    case perStep

    /// Parses `last:K`, `full`, `gaussian:MEAN,STD` or `per-step`; anything else is `badInput` naming the flag.
    public init(parsing text: String) throws {
        func fail(_ why: String) -> TweedieError {
            .badInput("--truncation \(text): \(why) (expected last:K, full, gaussian:MEAN,STD or per-step)")
        }
        if text == "per-step" { self = .perStep; return }
        if text == "full" { self = .last(Int.max); return }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw fail("unknown form") }
        switch parts[0] {
        case "last":
            guard let k = Int(parts[1]), k >= 1 else { throw fail("K must be an integer >= 1") }
            self = .last(k)
        case "gaussian":
            let v = parts[1].split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == 2, let m = v[0], let s = v[1], m.isFinite, s.isFinite, s >= 0 else {
                throw fail("needs MEAN,STD with STD >= 0")
            }
            self = .gaussian(mean: m, std: s)
        default:
            throw fail("unknown form")
        }
    }

    /// The flag's spelling.
    public var description: String {
        switch self {
        case .last(let k): return k == Int.max ? "full" : "last:\(k)"
        case .gaussian(let m, let s): return "gaussian:\(Self.number(m)),\(Self.number(s))"
        case .perStep: return "per-step"
        }
    }

    private static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e9 ? "\(Int(v))" : "\(v)" }

    /// Throws `badInput` when the setting cannot be used with `steps` sampling steps.
    public func validate(steps: Int) throws {
        switch self {
        case .last(let k) where k != Int.max && k > steps:
            throw TweedieError.badInput("--truncation last:\(k): more gradient steps than the \(steps) sampling steps")
        case .gaussian(let m, _) where !(m >= 1 && m < Double(steps)):
            throw TweedieError.badInput("--truncation \(self): MEAN is the number of leading steps without "
                                        + "gradients and must lie in [1, \(steps)) for \(steps) sampling steps")
        default:
            return
        }
    }

    /// Whether each of `steps` steps carries gradients for the trajectory keyed by (seed, trajectory): the same
    /// key always draws the same steps (resumed runs repeat them).
    public func mask(steps: Int, seed: UInt64, trajectory: Int) -> [Bool] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x7472_756E_6361_7465) &+ UInt64(truncatingIfNeeded: trajectory))
        switch self {
        case .last(let k):
            let first = max(0, steps - min(k, steps))
            return (0..<steps).map { $0 >= first }
        case .gaussian(let mean, let std):
            var k = Int(mean.rounded())
            // Rejection as the official code; validation keeps the mean inside, so this ends quickly.
            for _ in 0..<10_000 {
                let u1 = max(rng.uniform(), 1e-300), u2 = rng.uniform()
                let draw = (mean + std * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)).rounded()
                if draw >= 1 && draw < Double(steps) { k = Int(draw); break }
            }
            return (0..<steps).map { $0 >= k }
        case .perStep:
            return (0..<steps).map { i in rng.index(below: steps + 1) <= i }
        }
    }
}
