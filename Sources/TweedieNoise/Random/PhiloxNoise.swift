import TweedieCore
#if canImport(Glibc)
import Glibc
#endif

/// The engine's own noise: Philox4x32-10 with Box-Muller normals, keyed by (seed, image index, purpose).
/// Image `i` of a batch draws from seed `seed + firstImage + i`, so an image is reproducible alone or in any batch;
/// each purpose (initial latent, ancestral noise of step k) is its own stream, so changing the sampler never
/// shifts the initial latent.
public final class PhiloxNoise: NoiseSource {
    /// Base seed: image `i` of the batch uses `seed + firstImage + i`.
    public let seed: UInt64
    /// Global index of the batch's first image (for runs that split a large batch).
    public let firstImage: Int

    /// A keyed source for a batch whose first image is `firstImage` overall.
    public init(seed: UInt64, firstImage: Int = 0) {
        self.seed = seed
        self.firstImage = firstImage
    }

    public func normal(shape: [Int], purpose: NoisePurpose) throws -> Tensor {
        guard let batch = shape.first, batch > 0 else { return Tensor(shape: shape) }
        let per = shape.dropFirst().reduce(1, *)
        let (stream, step): (UInt32, UInt32) = {
            switch purpose {
            case .initial: return (0, 0)
            case .step(let i): return (1, UInt32(truncatingIfNeeded: i))
            case .custom(let c): return (2 &+ c, 0)
            }
        }()
        return Tensor(shape: shape) { out in
            parallelFor(batch) { n in
                let s = seed &+ UInt64(firstImage + n)
                PhiloxNoise.fill(out.baseAddress! + n * per, count: per, seed: s, stream: stream, step: step)
            }
        }
    }

    /// Writes `count` normals of one image's stream: counter = (block, 0, stream, step), key = seed halves.
    /// Each block of four 32-bit words gives two Box-Muller pairs, i.e. four normals.
    static func fill(_ dst: UnsafeMutablePointer<Float>, count: Int, seed: UInt64, stream: UInt32, step: UInt32) {
        let key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        var block: UInt32 = 0
        var i = 0
        while i < count {
            let r = Philox4x32.block(counter: (block, 0, stream, step), key: key)
            let (a0, a1) = boxMuller(r.0, r.1)
            let (b0, b1) = boxMuller(r.2, r.3)
            let left = count - i
            dst[i] = a0
            if left > 1 { dst[i + 1] = a1 }
            if left > 2 { dst[i + 2] = b0 }
            if left > 3 { dst[i + 3] = b1 }
            i += 4
            block &+= 1
        }
    }

    /// Two standard normals from two 32-bit words; uniforms in (0, 1] keep the logarithm finite.
    @inline(__always) static func boxMuller(_ x: UInt32, _ y: UInt32) -> (Float, Float) {
        let u1 = (Double(x >> 8) + 1) * 0x1p-24
        let u2 = Double(y >> 8) * 0x1p-24
        let r = (-2 * log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        return (Float(r * cos(theta)), Float(r * sin(theta)))
    }
}
