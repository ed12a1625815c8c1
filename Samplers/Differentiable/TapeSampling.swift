import TweedieCore

/// Sampling recorded on a `Tape`, so a loss on the final sample differentiates back to the initial noise and to
/// every parameter the denoiser reads (reward backpropagation à la AlignProp, guidance by gradients). The
/// trajectory is k-diffusion's Euler method over sigmas, which is also DDIM with η = 0 in sigma space:
/// x' = (σ'/σ)·x + (1 − σ'/σ)·D(x, σ).
public enum TapeSampling {
    /// A denoiser on a tape: D(x, sigma) -> x0. Every differentiable value it uses must come in through `inputs`
    /// (as for `Tape.checkpoint`), so a step can be recomputed or cut from the gradient path.
    public typealias TapeDenoiser = (_ tape: Tape, _ x: Variable, _ sigma: Float, _ inputs: [Variable]) -> Variable

    /// Runs Euler from `x` at `sigmas[0]` down the descending `sigmas`, recording on `tape`.
    /// - `checkpointSteps`: recompute each step in the backward pass instead of keeping its intermediates (memory
    ///   of one step instead of all; gradients are bitwise the same).
    /// - `gradientSteps`: only the last K steps are recorded; earlier ones run without a gradient path, so neither
    ///   `x` nor `inputs` receive gradients through them (AlignProp's truncated backpropagation). nil records all.
    public static func euler(_ tape: Tape, x: Variable, sigmas: [Float], inputs: [Variable] = [],
                             checkpointSteps: Bool = false, gradientSteps: Int? = nil,
                             denoise: @escaping TapeDenoiser) -> Variable {
        precondition(sigmas.count >= 2, "TapeSampling.euler: need at least two sigmas")
        let steps = sigmas.count - 1
        let firstRecorded = max(0, steps - (gradientSteps ?? steps))
        var h = x
        for i in 0..<steps {
            let (sigma, next) = (sigmas[i], sigmas[i + 1])
            precondition(sigma > 0, "TapeSampling.euler: sigma \(sigma) at step \(i) must be positive")
            let step: (Tape, Variable, [Variable]) -> Variable = { t, xi, params in
                let ratio = next / sigma
                return t.add(t.scale(xi, ratio), t.scale(denoise(t, xi, sigma, params), 1 - ratio))
            }
            if i < firstRecorded {
                // Outside the gradient window: evaluate on a scratch tape and re-enter the result as a constant.
                let scratch = Tape()
                h = tape.constant(step(scratch, scratch.constant(h.value), inputs.map { scratch.constant($0.value) }).value)
            } else if checkpointSteps {
                h = tape.checkpoint([h] + inputs) { sub, vs in [step(sub, vs[0], Array(vs.dropFirst()))] }[0]
            } else {
                h = step(tape, h, inputs)
            }
        }
        return h
    }
}
