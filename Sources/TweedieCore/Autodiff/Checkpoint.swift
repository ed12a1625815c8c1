/// Gradient checkpointing: trade compute for memory by not recording a region's intermediates.
extension Tape {
    /// Runs `body` on `inputs` without keeping its intermediates, records its outputs on this tape, and in the
    /// backward pass re-runs `body` on a fresh tape to backpropagate through it. Gradients equal those of running
    /// `body` directly, bit for bit: the recomputation repeats the same kernels on the same values, and each
    /// input's gradient so far is moved into the replay before it runs, so contributions are summed in the same
    /// order as on a recorded tape (later consumers first, then the region's, innermost last).
    ///
    /// Rules for `body`: it must be a pure function of its arguments. Every differentiable value it uses —
    /// activations *and* parameters — must come in through `inputs` (using a variable of another tape traps);
    /// constants may be created inside with `subTape.constant`. Any randomness must be counter-based (a seed
    /// captured by value, e.g. `CounterRandom`/`Tape.dropout(_:probability:seed:)`), never a stateful generator,
    /// so the recomputation draws the same numbers. Checkpoints nest.
    public func checkpoint(_ inputs: [Variable],
                           _ body: @escaping (_ subTape: Tape, _ inputs: [Variable]) -> [Variable]) -> [Variable] {
        for v in inputs { precondition(v.tape === self, "Tape.checkpoint: input \(v.id) belongs to another tape") }
        // Forward without recording: the inputs enter a scratch tape as constants, so no pullback is kept.
        let scratch = Tape()
        let results = body(scratch, inputs.map { scratch.constant($0.value) }).map(\.value)
        let values = inputs.map(\.value), ids = inputs.map(\.id)
        return recordMany(results, inputs: inputs) { seeds, tape in
            let replay = Tape()
            let leaves = zip(values, ids).map { replay.leaf($0, requiresGrad: tape.needsGradient($1)) }
            // The region's ops are contiguous on a recorded tape, so every consumer recorded after it has already
            // added its share; continuing from that sum (rather than adding the region's total to it) keeps the
            // association, and so the rounding, identical. A variable passed twice is seeded once.
            var seeded = Set<Int>()
            for (leaf, id) in zip(leaves, ids) where seeded.insert(id).inserted {
                if let g = tape.takeGradient(id) { replay.accumulate(leaf.id, g) }
            }
            let outs = body(replay, leaves)
            precondition(outs.count == seeds.count, "Tape.checkpoint: body returned a different number of outputs")
            replay.backward(seeds: zip(outs, seeds).compactMap { out, g in g.map { (out, $0) } })
            for (leaf, id) in zip(leaves, ids) {
                if let g = replay.gradient(leaf) { tape.accumulate(id, g) }
            }
        }
    }

    /// `checkpoint` for a region with one output.
    public func checkpoint(_ inputs: [Variable], _ body: @escaping (_ subTape: Tape, _ inputs: [Variable]) -> Variable)
        -> Variable {
        checkpoint(inputs) { tape, xs in [body(tape, xs)] }[0]
    }
}
