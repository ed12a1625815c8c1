/// Counter-based randomness for ops that must recompute identically under gradient checkpointing: element i of a
/// draw with `seed` is a pure hash of (seed, i) — no generator state — so a region re-run in the backward pass
/// sees exactly the same numbers.
public enum CounterRandom {
    /// A uniform Float in [0, 1) for element `index` of the stream `seed` (SplitMix64 finaliser of seed ⊕ index).
    @inline(__always)
    public static func uniform(seed: UInt64, index: Int) -> Float {
        var z = seed &+ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) * (1 / Float(1 << 24))
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
