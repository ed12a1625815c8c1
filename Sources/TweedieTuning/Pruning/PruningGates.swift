import TweedieCore
import TweedieModels

/// The gates a pruning run learns over a model: one hard-concrete logit per prunable unit (attention head, FFN
/// neuron, resnet channel group), `GatedWeights` on every consumer layer, and the counter-based noise that draws
/// each gate. The logits are the run's only parameters (`<consumer>.gate_logits`); the weights stay frozen.
public final class PruningGates {
    /// The model (its weights gain `<consumer>.gates` and gated providers).
    public let model: DiffusionModel & PrunableModel
    /// The groups with at least one unit, in the model's load order.
    public let groups: [PrunableGroup]
    /// Parameters each unit of a group accounts for (the consumer's columns and the producers' rows).
    public let parametersPerUnit: [Int]
    /// The gate's distribution.
    public let gate: HardConcrete

    /// Gates of 1 on every non-empty group of `model`. A model with no prunable unit is `badInput`.
    public init(model: DiffusionModel & PrunableModel, gate: HardConcrete = HardConcrete()) throws {
        self.model = model
        self.gate = gate
        groups = model.prunableGroups.filter { $0.count > 0 }
        guard !groups.isEmpty else {
            throw TweedieError.badInput("prune: the model has no prunable units left (every head, neuron and channel "
                                        + "group is already pruned)")
        }
        parametersPerUnit = groups.map { $0.parametersPerUnit(in: model.weights) }
        for g in groups where !(model.weights.providers[g.consumer] is GatedWeights) {
            try GatedWeights.attach(to: model.weights, layer: g.consumer, groupSize: g.unitSize)
        }
    }

    /// The parameter name of group `i`'s logits.
    public func logitName(_ i: Int) -> String { groups[i].consumer + ".gate_logits" }

    /// Units over all groups.
    public var unitCount: Int { groups.reduce(0) { $0 + $1.count } }

    /// Parameters the prunable units account for.
    public var prunableParameters: Int { zip(groups, parametersPerUnit).reduce(0) { $0 + $1.0.count * $1.1 } }

    /// Logits of `value` for every unit, named and ordered as the run's parameters.
    public func initialLogits(_ value: Float) throws -> TuningParameters {
        try TuningParameters(groups.indices.map { (logitName($0), Tensor(shape: [groups[$0].count], repeating: value)) })
    }

    /// The uniforms of group `group` at sampling step `step` of trajectory `trajectory`: a pure function of the
    /// three, so a checkpointed step recomputed in the backward pass draws exactly the masks of its forward pass.
    public func uniforms(trajectory: UInt64, step: Int, group: Int) -> Tensor {
        let key = SplitMix64.mix(SplitMix64.mix(trajectory ^ 0x6761_7465 &+ UInt64(step)) &+ UInt64(group))
        return Tensor(shape: [groups[group].count], data: (0..<groups[group].count).map {
            CounterRandom.uniform(seed: key, index: $0)
        })
    }

    /// Sampled masks for `logits` (tape variables in group order) as the `given` table of a forward scope.
    public func sampledMasks(_ tape: Tape, logits: [Variable], trajectory: UInt64, step: Int) -> [String: Variable] {
        var given: [String: Variable] = [:]
        for (i, g) in groups.enumerated() {
            given[g.consumer + ".gates"] = gate.sample(tape, logits: logits[i],
                                                       uniform: uniforms(trajectory: trajectory, step: step, group: i))
        }
        return given
    }

    /// Sets the stored gates (what a forward pass without `given` masks reads): `keep[i][u]` 1 or 0.
    public func setHardGates(_ keep: [[Bool]]) {
        precondition(keep.count == groups.count, "PruningGates: \(keep.count) keep lists for \(groups.count) groups")
        for (g, k) in zip(groups, keep) {
            model.weights.insert(g.consumer + ".gates", Tensor(shape: [g.count], data: k.map { $0 ? 1 : 0 }))
        }
    }

    /// Restores gates of 1 everywhere (the unpruned model).
    public func openAll() { setHardGates(groups.map { [Bool](repeating: true, count: $0.count) }) }
}
