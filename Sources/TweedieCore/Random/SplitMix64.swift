/// SplitMix64 (Steele, Lea, Flood 2014): the small, exactly specified generator behind the operators' random masks,
/// the benchmark inputs and the tests' data (scripts/make_operator_fixtures.py replays it in a few lines of numpy and
/// checks masks bit for bit). `mix` is its output function, which `CounterRandom` applies to (seed, index) directly.
public struct SplitMix64: Sendable {
    /// The Weyl-sequence increment (2^64 / golden ratio) added to the state per draw.
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    private var state: UInt64

    /// A generator seeded with `seed`: the first draw is `mix(seed + increment)`.
    public init(seed: UInt64) { state = seed }

    /// SplitMix64's finaliser (a variant of MurmurHash3's fmix64): a bijective 64-bit mix.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// A uniform double in [0, 1) from the top 53 bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform integer in 0..<n as ⌊u·n⌋.
    public mutating func index(below n: Int) -> Int { min(n - 1, Int(uniform() * Double(n))) }

    /// A uniform Float in [0, 1) from the top 24 bits (every value exact).
    public mutating func unitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A uniform Float in [-1, 1): `2 * unitFloat() - 1`.
    public mutating func signedUnitFloat() -> Float { unitFloat() * 2 - 1 }
}
