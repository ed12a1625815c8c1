import TweedieCore

extension TapeSampling {
    /// Deterministic DDIM (η = 0) recorded on `tape`, as `tweedie generate --sampler ddim` runs it: in sigma space
    /// x' = x̂0 + (σ'/σ)·(x − D(x, σ)), where x̂0 is D(x, σ) clamped to [−clip, clip] under diffusers' clip_sample
    /// (the direction keeps the raw estimate, as DDIMScheduler does) and the last step returns x̂0. Without `clip`
    /// this is the Euler step (σ'/σ)·x + (1 − σ'/σ)·D.
    /// - `gradientSteps[i]`: whether step i's denoiser output carries gradients. A step without one uses the
    ///   denoiser's value as a constant but keeps the latent path x → x', as AlignProp detaches the network output
    ///   only, so the gradient of a later step still reaches an earlier one that has a gradient (the original
    ///   code's per-step truncation). nil: every step.
    /// - `checkpointSteps`: recompute each step with a gradient in the backward pass instead of keeping its
    ///   intermediates (the memory of one step; gradients bitwise equal to the plain recording).
    /// Every differentiable value `denoise` reads must come in through `inputs` (see `Tape.checkpoint`).
    public static func ddim(_ tape: Tape, x: Variable, sigmas: [Float], inputs: [Variable] = [], clip: Float? = nil,
                            checkpointSteps: Bool = false, gradientSteps: [Bool]? = nil,
                            denoise: @escaping TapeDenoiser) -> Variable {
        precondition(sigmas.count >= 2, "TapeSampling.ddim: need at least two sigmas")
        let steps = sigmas.count - 1
        let mask = gradientSteps ?? [Bool](repeating: true, count: steps)
        precondition(mask.count == steps, "TapeSampling.ddim: \(mask.count) gradient flags for \(steps) steps")
        var h = x
        for i in 0..<steps {
            let (sigma, next) = (sigmas[i], sigmas[i + 1])
            precondition(sigma > 0, "TapeSampling.ddim: sigma \(sigma) at step \(i) must be positive")
            let update: (Tape, Variable, Variable) -> Variable = { t, xi, raw in
                let clean = clip.map { t.clamp(raw, -$0, $0) } ?? raw
                guard next > 0 else { return clean }
                return clip == nil ? t.add(t.scale(xi, next / sigma), t.scale(raw, 1 - next / sigma))
                    : t.add(clean, t.scale(t.sub(xi, raw), next / sigma))
            }
            if !mask[i] {
                // The network output as a constant (a scratch tape records nothing); the latent path stays.
                let scratch = Tape()
                let raw = denoise(scratch, scratch.constant(h.value), sigma, inputs.map { scratch.constant($0.value) })
                h = update(tape, h, tape.constant(raw.value))
            } else if checkpointSteps {
                h = tape.checkpoint([h] + inputs) { sub, vs in
                    update(sub, vs[0], denoise(sub, vs[0], sigma, Array(vs.dropFirst())))
                }
            } else {
                h = update(tape, h, denoise(tape, h, sigma, inputs))
            }
        }
        return h
    }
}
