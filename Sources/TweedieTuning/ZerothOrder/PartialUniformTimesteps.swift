import Foundation
import TweedieCore

/// PUTS, ZOODiP's Partial Uniform Timestep Sampling: training timesteps drawn uniformly from a middle band of the
/// schedule instead of all of it. The official code draws t = randint(500, 900), i.e. t in {500, ..., 899} of Stable
/// Diffusion v1.5's 1000-step scaled-linear schedule (β from 0.00085 to 0.012), noise levels σ = √((1 − ᾱ)/ᾱ) from
/// 1.618 (t = 500) up to, not including, 8.347 (t = 900).
///
/// Mapping to another schedule: by noise level, not by index. The band is the timesteps t of the model's own
/// schedule with σ(SD, 500) <= σ_t < σ(SD, 900). For the bundled models' DDPM schedule (linear β 1e-4 to 0.02, 1000
/// steps) that is t in [354, 647): σ 1.623 to 8.296. (The same indices 500..<900 would be σ 3.44 to 60 there, far
/// noisier images than ZOODiP trained on.)
public enum PartialUniformTimesteps {
    /// The official band's indices on Stable Diffusion's schedule.
    public static let officialBand = 500..<900

    /// ᾱ_t of Stable Diffusion v1.5's scheduler (scaled_linear, β 0.00085...0.012, 1000 steps).
    public static var stableDiffusionAlphasCumprod: [Double] {
        let n = 1000, a = 0.00085.squareRoot(), b = 0.012.squareRoot()
        var product = 1.0
        return (0..<n).map { i in
            let beta = pow(a + (b - a) * Double(i) / Double(n - 1), 2)
            product *= 1 - beta
            return product
        }
    }

    /// σ_t = √((1 − ᾱ_t)/ᾱ_t).
    public static func sigma(_ alphaCumprod: Double) -> Double { ((1 - alphaCumprod) / alphaCumprod).squareRoot() }

    /// The band of `alphasCumprod` (a model's training schedule) with the official band's noise levels.
    public static func band(for alphasCumprod: [Double]) -> Range<Int> {
        let sd = stableDiffusionAlphasCumprod
        let low = sigma(sd[officialBand.lowerBound]), high = sigma(sd[officialBand.upperBound])
        let sigmas = alphasCumprod.map(sigma)
        let start = sigmas.firstIndex { $0 >= low } ?? sigmas.count
        let end = sigmas.firstIndex { $0 >= high } ?? sigmas.count
        return start..<max(start, end)
    }
}
