import TweedieCore

/// Seeded random-ellipse phantoms (recipe "random-ellipses-v1"), a generic stand-in for tomographic images.
///
/// Phantom `i` under seed `s` draws uniforms `u_k = CounterRandom.uniform(seed: s, index: 128 * i + k)`:
/// `u_0` sets the ellipse count `3 + floor(8 u_0)` (3...10); ellipse `e` uses the seven uniforms from
/// `k = 1 + 7e`: centre x, y in [-0.6, 0.6] (u_k, u_k+1), semi-axes in [0.05, 0.5] (u_k+2, u_k+3), angle
/// 180 u_k+4 degrees, intensity magnitude 0.1 + 0.6 u_k+5, negative when u_k+6 < 0.25. Intensities add and the
/// sum is clipped to [0, 1]; pixel-centre sampling (see `EllipsePhantom`).
public enum RandomEllipses {
    /// Recipe identifier for model cards.
    public static let recipe = "random-ellipses-v1"

    /// The ellipses of phantom `index` under `seed`.
    public static func ellipses(seed: UInt64, index: Int) -> [Ellipse] {
        func u(_ k: Int) -> Double { Double(CounterRandom.uniform(seed: seed, index: 128 * index + k)) }
        func lerp(_ lo: Double, _ hi: Double, _ t: Double) -> Double { lo + (hi - lo) * t }
        let count = 3 + Int(8 * u(0))
        return (0..<count).map { e in
            let k = 1 + 7 * e
            let magnitude = lerp(0.1, 0.7, u(k + 5))
            return Ellipse(intensity: u(k + 6) < 0.25 ? -magnitude : magnitude,
                           semiAxisX: lerp(0.05, 0.5, u(k + 2)), semiAxisY: lerp(0.05, 0.5, u(k + 3)),
                           centreX: lerp(-0.6, 0.6, u(k)), centreY: lerp(-0.6, 0.6, u(k + 1)),
                           angleDegrees: 180 * u(k + 4))
        }
    }

    /// Phantoms `startIndex ..< startIndex + count` as [count, 1, height, width] in [0, 1] (pixel-centre sampling).
    public static func images(count: Int, height: Int, width: Int, seed: UInt64, startIndex: Int = 0) -> Tensor {
        Tensor(shape: [count, 1, height, width]) { out in
            guard let po = out.baseAddress else { return }
            parallelFor(count) { n in
                EllipsePhantom.render(ellipses(seed: seed, index: startIndex + n), height: height, width: width,
                                      sampling: .pixelCentres, clip: 0...1, into: po + n * height * width)
            }
        }
    }
}
