import TweedieCore
import TweedieSamplers

/// A sampler written outside the module with public API only, registered by name: the explicit midpoint method
/// (second order, two model calls per step; plain Euler onto sigma = 0).
enum CustomSamplerExample {
    static let midpoint: Sampler = { model, x, sigmas, condition, _, onStep in
        var x = x
        for i in 0..<(sigmas.count - 1) {
            let (s, sn) = (sigmas[i], sigmas[i + 1])
            let denoised = try model.denoise(x, sigma: s, condition: condition)
            let d = (x - denoised) * (1 / s)
            if sn == 0 {
                x = x + d * (sn - s)
            } else {
                let mid = (s * sn).squareRoot()
                let xm = x + d * (mid - s)
                let dm = (xm - (try model.denoise(xm, sigma: mid, condition: condition))) * (1 / mid)
                x = x + dm * (sn - s)
            }
            let info = StepInfo(step: i, total: sigmas.count - 1, sigma: s, sigmaNext: sn, x: x, denoised: denoised)
            if onStep(info) == .stop { return denoised }
        }
        return x
    }

    static func register() { SamplerRegistry.register(name: "midpoint", family: .euler, midpoint) }
}
