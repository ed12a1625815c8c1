import TweedieCore
#if canImport(Glibc)
import Glibc
#endif

/// A bit-exact port of torch's CPU `torch.randn(shape, generator=torch.Generator().manual_seed(seed))` for float32,
/// including the generator state carried between calls, so a sequence of draws (initial latent, then one per
/// ancestral step, as diffusers' pipelines do with one generator) reproduces a PyTorch run value for value.
///
/// torch fills tensors of 16+ elements with a vectorised Box-Muller over 16-element blocks of float uniforms
/// (the last block recomputed from fresh uniforms when the size is not a multiple of 16), and smaller tensors with
/// scalar double-precision Box-Muller whose second value is cached in the generator. The block transform differs
/// by CPU kernel: x86 builds with AVX2/AVX-512 use cephes-style polynomials (`.vectorized`), the DEFAULT kernel
/// (other CPUs, or ATEN_CPU_CAPABILITY=default) uses libm (`.scalar`).
public final class TorchRandn: NoiseSource {
    /// Which torch CPU kernel to mirror for tensors of 16 or more elements.
    public enum Kernel: String, Sendable {
        /// AVX2/AVX-512 kernel (x86 torch on any recent CPU).
        case vectorized
        /// DEFAULT kernel (libm logf/cosf/sinf).
        case scalar
    }

    /// The seed given to `manual_seed`.
    public let seed: UInt64
    /// The kernel whose rounding is reproduced.
    public let kernel: Kernel
    private var engine: MT19937
    private var cachedNormal: Double?

    /// The kernel torch picks on this machine's architecture (x86: vectorized; other CPUs: scalar).
    public static var hostKernel: Kernel {
        #if arch(x86_64)
        return .vectorized
        #else
        return .scalar
        #endif
    }

    /// A generator in the state of `torch.Generator().manual_seed(seed)`.
    public init(seed: UInt64, kernel: Kernel = TorchRandn.hostKernel) {
        self.seed = seed
        self.kernel = kernel
        self.engine = MT19937(seed: seed)
    }

    /// NoiseSource: the next `torch.randn(shape)` of this generator (the purpose is ignored: the stream is sequential).
    public func normal(shape: [Int], purpose: NoisePurpose) throws -> Tensor { randn(shape) }

    /// The next `torch.randn(shape, generator=g)`.
    public func randn(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        var out = [Float](repeating: 0, count: n)
        if n >= 16 { fillBlocks(&out) } else { for i in 0..<n { out[i] = Float(scalarNormal()) } }
        return Tensor(shape: shape, data: out)
    }

    private func uniformFloat() -> Float { Float(engine.next() & 0xFF_FFFF) * 0x1p-24 }

    /// torch's at::normal_distribution<double> with the cached sine value.
    private func scalarNormal() -> Double {
        if let c = cachedNormal { cachedNormal = nil; return c }
        let u1 = Double(engine.next64() & ((1 << 53) - 1)) * 0x1p-53
        let u2 = Double(engine.next64() & ((1 << 53) - 1)) * 0x1p-53
        let r = (-2.0 * log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = r * sin(theta)
        return r * cos(theta)
    }

    private func fillBlocks(_ data: inout [Float]) {
        let n = data.count
        for i in 0..<n { data[i] = uniformFloat() }
        let kernel = self.kernel
        data.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i + 16 <= n { TorchRandn.transform16(p.baseAddress! + i, kernel); i += 16 }
        }
        if n % 16 != 0 {
            for i in (n - 16)..<n { data[i] = uniformFloat() }
            data.withUnsafeMutableBufferPointer { p in TorchRandn.transform16(p.baseAddress! + n - 16, kernel) }
        }
    }

    /// Box-Muller on 8 pairs in place: u1 = 1 - data[j], u2 = data[j + 8].
    static func transform16(_ d: UnsafeMutablePointer<Float>, _ kernel: Kernel) {
        for j in 0..<8 {
            let u1: Float = 1 - d[j]
            let u2 = d[j + 8]
            switch kernel {
            case .vectorized:
                let radius = (-2 * CephesAVX.log(u1)).squareRoot()
                let (s, c) = CephesAVX.sincos(Float(2 * Double.pi) * u2)
                d[j] = radius * c
                d[j + 8] = radius * s
            case .scalar:
                let radius = (-2 * logf(u1)).squareRoot()
                let theta = Float(2.0 * Double.pi * Double(u2))  // torch: 2.0f * pi<double> * u2, then rounded
                d[j] = radius * cosf(theta)
                d[j + 8] = radius * sinf(theta)
            }
        }
    }
}
