import Foundation
import TweedieCore
import TweedieModels

/// Which units a pruned model keeps: one score per unit (higher keeps), ranked globally over all groups, and the
/// lowest removed until they account for the requested share of the prunable parameters.
public enum PruningRanking {
    /// Keep lists per group: units removed in ascending score order (ties by group, then unit) while each removal
    /// brings the removed parameters closer to `ratio` of the prunable ones; the order is never skipped, so a unit
    /// scored above a removed one is never removed.
    public static func keep(scores: [[Float]], parametersPerUnit: [Int], ratio: Double) -> [[Bool]] {
        var keep = scores.map { [Bool](repeating: true, count: $0.count) }
        let total = zip(scores, parametersPerUnit).reduce(0.0) { $0 + Double($1.0.count * $1.1) }
        let target = ratio * total
        var order: [(score: Float, group: Int, unit: Int)] = []
        for (g, s) in scores.enumerated() { for (u, v) in s.enumerated() { order.append((v, g, u)) } }
        order.sort { ($0.score, $0.group, $0.unit) < ($1.score, $1.group, $1.unit) }
        var removed = 0.0
        for e in order {
            let p = Double(parametersPerUnit[e.group])
            guard abs(removed + p - target) <= abs(removed - target) else { break }
            keep[e.group][e.unit] = false
            removed += p
        }
        return keep
    }

    /// The learned logits as scores.
    public static func scores(_ logits: TuningParameters) -> [[Float]] { logits.values.map(\.data) }

    /// Weight-magnitude scores: the RMS of each unit's dense weights (the consumer's input columns and the rows of
    /// the producers' weights of rank >= 2; biases and norm scales left out).
    public static func magnitudeScores(_ gates: PruningGates) -> [[Float]] {
        let w = gates.model.weights
        return gates.groups.map { g in
            var sums = [Double](repeating: 0, count: g.count), counts = [Int](repeating: 0, count: g.count)
            if let c = w.tensors[g.consumer + ".weight"] {
                let out = c.shape[0], inputs = c.shape[1], inner = c.count / (out * inputs)
                for o in 0..<out {
                    for col in 0..<inputs {
                        let u = col / g.unitSize, base = (o * inputs + col) * inner
                        for k in 0..<inner { sums[u] += Double(c.data[base + k] * c.data[base + k]) }
                        counts[u] += inner
                    }
                }
            }
            for p in g.producers {
                guard let t = w.tensors[p.name], t.rank >= 2 else { continue }
                let rows = t.shape[0], per = t.count / rows, blockRows = rows / p.blocks
                for r in 0..<rows {
                    let u = (r % blockRows) / g.rowsPerUnit
                    for k in 0..<per { sums[u] += Double(t.data[r * per + k] * t.data[r * per + k]) }
                    counts[u] += per
                }
            }
            return zip(sums, counts).map { Float(($0 / Double(max($1, 1))).squareRoot()) }
        }
    }

    /// Random scores from `seed` (group i, unit u: a counter-based uniform).
    public static func randomScores(_ gates: PruningGates, seed: UInt64) -> [[Float]] {
        gates.groups.indices.map { i in
            let key = SplitMix64.mix(seed ^ 0x7261_6E64 &+ UInt64(i))
            return (0..<gates.groups[i].count).map { CounterRandom.uniform(seed: key, index: $0) }
        }
    }
}
