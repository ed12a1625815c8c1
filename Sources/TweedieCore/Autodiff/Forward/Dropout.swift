/// Counter-based randomness for ops that must recompute identically under gradient checkpointing: element i of a
/// draw with `seed` is a pure hash of (seed, i) — no generator state — so a region re-run in the backward pass
/// sees exactly the same numbers.
public enum CounterRandom {
    /// A uniform Float in [0, 1) for element `index` of the stream `seed`: SplitMix64's finaliser of
    /// seed + index · increment (the value a SplitMix64 seeded with seed + (index - 1) · increment draws first).
    @inline(__always)
    public static func uniform(seed: UInt64, index: Int) -> Float {
        let z = SplitMix64.mix(seed &+ UInt64(truncatingIfNeeded: index) &* SplitMix64.increment)
        return Float(z >> 40) * 0x1p-24
    }

    /// The inverted-dropout multiplier mask: 0 with probability `p`, else 1/(1 − p), element i from (seed, i).
    public static func dropoutMask(shape: [Int], probability p: Float, seed: UInt64) -> Tensor {
        precondition(p >= 0 && p < 1, "dropoutMask: probability \(p) outside [0, 1)")
        let keep = 1 / (1 - p)
        return Tensor(shape: shape) { out in
            guard let po = out.baseAddress else { return }
            parallelChunks(out.count) { r in
                for i in r { po[i] = uniform(seed: seed, index: i) < p ? 0 : keep }
            }
        }
    }
}
