import TweedieCore
import TweedieSamplers

/// A sampler written outside the module with public API only, registered by name: the explicit midpoint method
/// (second order, two model calls per step; plain Euler onto sigma = 0).
enum CustomSamplerExample {
    static let midpoint: Sampler = { model, x, sigmas, condition, _, onStep in
        try validateSigmas(sigmas, sampler: "midpoint")
        var x = x
        for i in 0..<(sigmas.count - 1) {
            let (s, sn) = (sigmas[i], sigmas[i + 1])
            let denoised = try model.denoise(x, sigma: s, condition: condition)
            let d = derivative(x, denoised, sigma: s)
            if sn == 0 {
                x = lincomb(x, 1, d, sn - s)
            } else {
                let mid = (s * sn).squareRoot()
                let xm = lincomb(x, 1, d, mid - s)
                let dm = derivative(xm, try model.denoise(xm, sigma: mid, condition: condition), sigma: mid)
                x = lincomb(x, 1, dm, sn - s)
            }
            if Samplers.report(onStep, step: i, sigmas: sigmas, x: x, denoised: denoised) { return denoised }
        }
        return x
    }

    static func register() { SamplerRegistry.register(name: "midpoint", family: .euler, midpoint) }
}
