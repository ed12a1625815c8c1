/// Scalar replicas of torch's `log256_ps` and `sincos256_ps` (avx_mathfun.h, cephes polynomials) as compiled into
/// torch's x86 kernels, including the multiply-adds the compiler fused into FMAs, so one lane gives the same bits.
/// Only the domain torch's randn uses matters here (log on (0, 1], sincos on [0, 2*pi)), but the functions follow
/// the vector code for any finite input.
enum CephesAVX {
    @inline(__always) static func c(_ v: Double) -> Float { Float(v) }

    static let sqrtHalf = c(0.707106781186547524)
    static let logP: [Float] = [7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                                1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                                3.3333331174E-1].map { c($0) }
    static let logQ1 = c(-2.12194440e-4), logQ2 = c(0.693359375)
    static let fourOverPi = c(1.27323954473516)
    static let dp1 = c(-0.78515625), dp2 = c(-2.4187564849853515625e-4), dp3 = c(-3.77489497744594108e-8)
    static let sinP0 = c(-1.9515295891E-4), sinP1 = c(8.3321608736E-3), sinP2 = c(-1.6666654611E-1)
    static let cosP0 = c(2.443315711809948E-005), cosP1 = c(-1.388731625493765E-003), cosP2 = c(4.166664568298827E-002)

    /// log256_ps for one lane.
    static func log(_ input: Float) -> Float {
        if input <= 0 { return .nan }
        let x0 = max(input, Float(bitPattern: 0x0080_0000))
        let bits = x0.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) - 0x7F) + 1
        var x = Float(bitPattern: (bits & ~0x7F80_0000) | Float(0.5).bitPattern)
        let small = x < sqrtHalf
        let tmp: Float = small ? x : 0
        x = x - 1
        e = e - (small ? 1 : 0)
        x = x + tmp
        let z = x * x
        var y = logP[0]
        for k in 1..<9 { y = logP[k].addingProduct(y, x) }
        y = y * x
        y = (e * logQ1).addingProduct(y, z)
        y = y - z * 0.5
        x = x + y
        return x.addingProduct(e, logQ2)
    }

    /// sincos256_ps for one lane: (sin, cos).
    static func sincos(_ input: Float) -> (Float, Float) {
        var signSin = input.sign == .minus
        var x = abs(input)
        var j = Int32(x * fourOverPi)
        j = (j &+ 1) & ~1
        let y = Float(j)
        if j & 4 != 0 { signSin.toggle() }
        let polyIsSin = j & 2 == 0
        x = x.addingProduct(y, dp1)
        x = x.addingProduct(y, dp2)
        x = x.addingProduct(y, dp3)
        let signCos = (~(j &- 2)) & 4 != 0
        let z = x * x
        var yc = cosP1.addingProduct(cosP0, z)
        yc = cosP2.addingProduct(yc, z)
        yc = yc * z
        yc = (-(z * 0.5)).addingProduct(yc, z)
        yc = yc + 1
        var ys = sinP1.addingProduct(sinP0, z)
        ys = sinP2.addingProduct(ys, z)
        ys = ys * z
        ys = x.addingProduct(ys, x)
        let s = polyIsSin ? ys : yc
        let co = polyIsSin ? yc : ys
        return (signSin ? -s : s, signCos ? -co : co)
    }
}
