import Foundation

/// The noise levels of a VP model's training timesteps in k-diffusion's sigma parameterisation,
/// sigma_t = sqrt((1 - abar_t) / abar_t), with the conversions between sigma and (fractional) timestep.
public struct VPSigmaTable: Sendable {
    /// sigma of each training timestep, ascending with t.
    public let sigmas: [Double]
    /// Natural logarithms of `sigmas`.
    public let logSigmas: [Double]

    /// The table of a model trained with these cumulative alphas. Sigmas and their logarithms are computed in
    /// Float32 as diffusers (and k-diffusion on float32 models) compute them, so timesteps derived from sigmas agree
    /// with theirs; for alphas_cumprod near 1 that rounding is visible (1 - abar loses digits).
    public init(alphasCumprod: [Double]) {
        precondition(alphasCumprod.count >= 2, "VPSigmaTable needs at least two timesteps")
        sigmas = alphasCumprod.map { a in
            let af = Float(a)
            return Double(((1 - af) / af).squareRoot())
        }
        logSigmas = sigmas.map { Double(Foundation.logf(Float($0))) }
    }

    /// Smallest training sigma (t = 0).
    public var sigmaMin: Double { sigmas[0] }
    /// Largest training sigma (t = T - 1).
    public var sigmaMax: Double { sigmas[sigmas.count - 1] }
    /// Number of training timesteps.
    public var count: Int { sigmas.count }

    /// k-diffusion's sigma_to_t: the fractional timestep whose log-sigma interpolates `sigma` (clamped to range).
    public func timestep(forSigma sigma: Double) -> Double {
        let ls = Foundation.log(max(sigma, 1e-10))
        // low = last index with logSigmas[low] <= ls (binary search; logSigmas ascend), capped at count - 2.
        var lo = 0, hi = logSigmas.count - 1
        if ls < logSigmas[0] { lo = 0 } else {
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if logSigmas[mid] <= ls { lo = mid } else { hi = mid - 1 }
            }
        }
        let low = min(lo, logSigmas.count - 2)
        let w = min(max((logSigmas[low] - ls) / (logSigmas[low] - logSigmas[low + 1]), 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }

    /// k-diffusion's t_to_sigma: log-linear interpolation of the table at a fractional timestep.
    public func sigma(forTimestep t: Double) -> Double {
        let tc = min(max(t, 0), Double(count - 1))
        let low = Int(tc.rounded(.down)), high = min(low + 1, count - 1)
        let w = tc - Double(low)
        return Foundation.exp((1 - w) * logSigmas[low] + w * logSigmas[high])
    }

    /// numpy's interp of the table itself (linear in sigma), as diffusers' Euler-family schedulers use for
    /// fractional timesteps.
    public func linearSigma(forTimestep t: Double) -> Double {
        let tc = min(max(t, 0), Double(count - 1))
        let low = Int(tc.rounded(.down)), high = min(low + 1, count - 1)
        let w = tc - Double(low)
        return sigmas[low] + w * (sigmas[high] - sigmas[low])
    }
}
