import Foundation
import TweedieCore
import TweedieNoise

/// The random directions z ~ N(0, I_d) of zeroth-order gradient estimates, regenerated on demand from
/// (seed, step, index) by Philox4x32-10 (counter = (block, index, tag, step), key = the seed's halves) with
/// Box-Muller normals. Nothing is stored: the estimator draws z_i to perturb, and draws it again to accumulate
/// δ_i z_i, as ZOODiP regenerates each direction from its integer seed. The same triple gives the same bits on
/// every run and thread count.
public struct GaussianDirections: Sendable, Equatable {
    /// Seed of every direction of a run.
    public let seed: UInt64
    /// Length d of each direction.
    public let dimension: Int

    /// Tag in the counter's third word, so these streams never meet the sampler's noise streams of the same seed.
    static let tag: UInt32 = 0x5A0D_0001

    /// Directions of length `dimension` keyed by `seed`.
    public init(seed: UInt64, dimension: Int) {
        precondition(dimension >= 1, "GaussianDirections: dimension \(dimension)")
        self.seed = seed
        self.dimension = dimension
    }

    /// z_index of update `step` (both 0-based).
    public func direction(step: Int, index: Int) -> [Float] {
        let key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        var out = [Float](repeating: 0, count: dimension)
        var block: UInt32 = 0
        var i = 0
        while i < dimension {
            let r = Philox4x32.block(counter: (block, UInt32(truncatingIfNeeded: index), Self.tag,
                                               UInt32(truncatingIfNeeded: step)), key: key)
            let (a0, a1) = Self.boxMuller(r.0, r.1), (b0, b1) = Self.boxMuller(r.2, r.3)
            for (k, v) in [a0, a1, b0, b1].enumerated() where i + k < dimension { out[i + k] = v }
            i += 4
            block &+= 1
        }
        return out
    }

    /// Two standard normals from two 32-bit words (uniforms in (0, 1] keep the logarithm finite).
    static func boxMuller(_ x: UInt32, _ y: UInt32) -> (Float, Float) {
        let u1 = (Double(x >> 8) + 1) * 0x1p-24
        let u2 = Double(y >> 8) * 0x1p-24
        let r = (-2 * log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        return (Float(r * cos(theta)), Float(r * sin(theta)))
    }
}
