import TweedieCore

/// Classifier-free guidance (Ho & Salimans 2022) in diffusers' convention: uncond + w * (cond - uncond), so w = 1
/// is the plain conditional prediction (and skips the unconditional pass) and w = 0 the unconditional one.
/// Applied to x0 predictions; for a fixed x and sigma this equals the same rule on eps or v (both are affine in x0).
///
/// `rescale` (phi, Lin et al. 2023 "Common Diffusion Noise Schedules and Sample Steps are Flawed", diffusers'
/// rescale_noise_cfg) then blends in the guided prediction rescaled to the conditional one's per-sample std:
/// phi * g * std(cond)/std(g) + (1 - phi) * g. The std is taken in x0 space (the paper's formulation), so it
/// differs from diffusers' noise-space rescale for epsilon models.
public final class ClassifierFreeGuidance: Guider {
    /// The guidance scale w.
    public let scale: Float
    /// The rescale factor phi in [0, 1] (0: off).
    public let rescale: Float

    /// CFG with scale `scale` and guidance rescale `rescale`.
    public init(scale: Float, rescale: Float = 0) {
        self.scale = scale
        self.rescale = rescale
    }

    public func needsUnconditional(step: Int, total: Int) -> Bool { abs(scale - 1) > 1e-6 }

    public func combine(conditional c: Tensor, unconditional u: Tensor, step: Int, total: Int) -> Tensor {
        let guided = lincomb(u, 1 - scale, c, scale)
        guard rescale > 0 else { return guided }
        let stdC = SampleStats.std(c), stdG = SampleStats.std(guided)
        let phi = Double(rescale)
        let factors = zip(stdC, stdG).map { sc, sg in phi * (sg > 0 ? sc / sg : 1) + (1 - phi) }
        return SampleStats.scalePerSample(guided, factors)
    }

    public func reset() {}
}

extension ClassifierFreeGuidance {
    /// `--guidance cfg` with `--guidance-rescale`.
    public static let description = GuiderDescription(
        name: "cfg",
        parameters: [GuiderParameter(key: "guidance_rescale", label: "CFG rescale", defaultValue: 0, minimum: 0,
                                     maximum: 1, help: "CFG rescale phi in [0, 1] (default 0).")],
        build: { w, v in ClassifierFreeGuidance(scale: w, rescale: v["guidance_rescale"] ?? 0) })
}
