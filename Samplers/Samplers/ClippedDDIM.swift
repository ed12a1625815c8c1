import TweedieCore

/// diffusers' DDIMScheduler step under `clip_sample` (with its default use_clipped_model_output = False): the
/// clean estimate is clamped to [-c, c] but the step direction keeps the network's own epsilon,
///   x_next = clamp(x0) + sigma_down * (x - x0) / sigma + sigma_up * z     (sigma space),
/// whereas a denoiser that clamps x0 itself makes the direction follow the clamped estimate. `model` must return
/// the unclamped x0. Without clipping in play this is exactly `Samplers.ddim(eta:)`.
public enum ClippedDDIM {
    /// The DDIM sampler with noise scale `eta` clamping the clean estimate at `clip`.
    public static func sampler(eta: Float, clip: Float) -> Sampler {
        { model, x, sigmas, condition, noise, onStep in
            try validateSigmas(sigmas, sampler: "ddim", finalMayRepeat: true)
            var x = x
            for i in 0..<(sigmas.count - 1) {
                let s = sigmas[i], sn = sigmas[i + 1]
                let raw = try model.denoise(x, sigma: s, condition: condition)
                let clean = clamped(raw, clip)
                if sn == 0 {
                    x = clean
                } else {
                    let (down, up) = Samplers.ancestralStep(Double(s), Double(sn), eta: Double(eta))
                    let z = up > 0 ? try noise.normal(shape: x.shape, purpose: .step(i)) : nil
                    x = step(x: x, raw: raw, clean: clean, sigma: s, down: Float(down), up: Float(up), z: z)
                }
                if Samplers.report(onStep, step: i, sigmas: sigmas, x: x, denoised: clean) { return clean }
            }
            return x
        }
    }

    private static func clamped(_ t: Tensor, _ c: Float) -> Tensor {
        Tensor(shape: t.shape) { out in
            t.withUnsafeBufferPointer { p in for i in 0..<out.count { out[i] = min(max(p[i], -c), c) } }
        }
    }

    /// clean + down * (x - raw) / sigma (+ up * z), one pass.
    private static func step(x: Tensor, raw: Tensor, clean: Tensor, sigma: Float, down: Float, up: Float,
                             z: Tensor?) -> Tensor {
        let k = down / sigma
        return Tensor(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in
                raw.withUnsafeBufferPointer { pr in
                    clean.withUnsafeBufferPointer { pc in
                        for i in 0..<out.count { out[i] = pc[i] + k * (px[i] - pr[i]) }
                    }
                }
            }
            if let z {
                z.withUnsafeBufferPointer { pz in for i in 0..<out.count { out[i] += up * pz[i] } }
            }
        }
    }
}
