/// The 32-bit Mersenne Twister exactly as torch's CPU generator runs it (standard MT19937 seeding of the low
/// 32 bits of the seed, standard tempering).
public struct MT19937 {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    /// A generator seeded like `torch.Generator().manual_seed(seed)` (only the low 32 bits count).
    public init(seed: UInt64) {
        state[0] = UInt32(truncatingIfNeeded: seed)
        for j in 1..<624 {
            let prev = state[j - 1]
            state[j] = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(j)
        }
    }

    /// The next 32-bit output.
    public mutating func next() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// 64 bits as torch's random64(): first output high, second low.
    public mutating func next64() -> UInt64 {
        let hi = UInt64(next())
        return (hi << 32) | UInt64(next())
    }

    private mutating func twist() {
        state.withUnsafeMutableBufferPointer { s in
            for k in 0..<624 {
                let y = (s[k] & 0x8000_0000) | (s[(k + 1) % 624] & 0x7FFF_FFFF)
                s[k] = s[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_B0DF : 0)
            }
        }
        index = 0
    }
}
