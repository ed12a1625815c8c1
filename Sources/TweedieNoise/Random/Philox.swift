/// The Philox4x32-10 counter-based generator (Salmon et al., SC'11, Random123 constants): a bijection of a 128-bit
/// counter under a 64-bit key. Stateless, so any element of any stream can be computed directly.
public enum Philox4x32 {
    static let m0: UInt32 = 0xD251_1F53, m1: UInt32 = 0xCD9E_8D57
    static let w0: UInt32 = 0x9E37_79B9, w1: UInt32 = 0xBB67_AE85

    /// Ten rounds of Philox on `counter` under `key`.

    public static func block(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32) {
        var c = counter
        var k = key
        for r in 0..<10 {
            if r > 0 { k.0 &+= w0; k.1 &+= w1 }
            let p0 = UInt64(m0) &* UInt64(c.0)
            let p1 = UInt64(m1) &* UInt64(c.2)
            c = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c.1 ^ k.0, UInt32(truncatingIfNeeded: p1),
                 UInt32(truncatingIfNeeded: p0 >> 32) ^ c.3 ^ k.1, UInt32(truncatingIfNeeded: p0))
        }
        return c
    }
}
