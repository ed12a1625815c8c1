import TweedieCore

/// The built-in samplers (k-diffusion's algorithms over sigmas). Every function has the `Sampler` signature, so
/// `Samplers.euler` is itself a `Sampler`; the parameterised ones (`ancestral(eta:)`, `ddim(eta:)`) return one.
public enum Samplers {
    /// Reports step `i` and tells whether the caller asked to stop.
    public static func report(_ onStep: StepCallback, step i: Int, sigmas: [Float], x: Tensor, denoised: Tensor) -> Bool {
        onStep(StepInfo(step: i, total: sigmas.count - 1, sigma: sigmas[i], sigmaNext: sigmas[i + 1], x: x,
                        denoised: denoised)) == .stop
    }

    /// k-diffusion's get_ancestral_step: the deterministic target sigma_down and the fresh-noise level sigma_up with
    /// sigma_down^2 + sigma_up^2 = sigmaNext^2; eta scales the noise (0: deterministic, 1: full ancestral/DDPM).
    public static func ancestralStep(_ sigma: Double, _ sigmaNext: Double, eta: Double) -> (down: Double, up: Double) {
        guard eta > 0, sigmaNext > 0 else { return (sigmaNext, 0) }
        let up = min(sigmaNext, eta * (sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext) / (sigma * sigma)).squareRoot())
        return ((sigmaNext * sigmaNext - up * up).squareRoot(), up)
    }
}
