import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieSamplers

/// Score distillation sampling (DreamFusion's SDS) with the gradient path of PGC-3D's guidance/sd.py `train_step`:
/// pixels I ∈ [0, 1] -> VAE encoder on 2I − 1 -> a posterior sample times the scaling factor, z; t drawn from the
/// settings' range; z_t = √ᾱ z + √(1 − ᾱ) ε; ε̂ with CFG; g = w(t)(ε̂ − ε), w(t) = 1 − ᾱ_t, injected at z as the
/// latent's gradient (no loss value: SDS skips the denoiser's Jacobian) and carried back through the encoder to
/// ∂L/∂I. `PixelGradientClip` then edits ∂L/∂I before it reaches the parameters (the image, or the texture
/// through `AffineTextureRender`). Step k's draws are keyed by (seed, k), so a run is a function of its settings.
public final class ScoreDistillation {
    /// D(x, σ) of the latent model (class labels; `Condition.nullLabel` for the unconditional pass).
    public let denoiser: Denoiser
    /// ᾱ_t of the model's training schedule, t = 0..<T.
    public let alphasCumprod: [Double]
    /// The autoencoder whose encoder carries the gradient to the pixels.
    public let vae: AutoencoderKL
    public let settings: SDSSettings
    /// The texture view, with `settings.render == .texture`.
    public let render: AffineTextureRender?
    /// [1, C, H, W] of the image the encoder reads, and [1, c, h, w] of its latent.
    public let imageShape: [Int], latentShape: [Int]
    /// The timesteps t is drawn from.
    public let timesteps: ClosedRange<Int>

    /// A run over `denoiser` (trained with `alphasCumprod`) and `vae`, for images of `imageShape` [1, C, H, W].
    public init(denoiser: Denoiser, alphasCumprod: [Double], vae: AutoencoderKL, imageShape: [Int],
                settings: SDSSettings) throws {
        try settings.validate()
        guard imageShape.count == 4, imageShape[0] == 1, imageShape[1] == vae.config.inChannels else {
            throw TweedieError.badInput("sds: images must be [1, \(vae.config.inChannels), H, W], got \(imageShape)")
        }
        self.denoiser = denoiser
        self.alphasCumprod = alphasCumprod
        self.vae = vae
        self.settings = settings
        self.imageShape = imageShape
        latentShape = [1] + vae.latentShape(height: imageShape[2], width: imageShape[3])
        render = settings.render == .texture
            ? AffineTextureRender(textureSize: settings.textureSize, frameHeight: imageShape[2], frameWidth: imageShape[3])
            : nil
        let count = alphasCumprod.count, range = settings.timeRange
        timesteps = min(count - 1, Int(Double(count) * range.lo))...min(count - 1, Int(Double(count) * range.hi))
    }

    /// [1, C, S, S] for a texture, else the image shape: what the optimiser moves.
    public var parameterShape: [Int] {
        render.map { [1, imageShape[1], $0.textureSize, $0.textureSize] } ?? imageShape
    }

    /// The image the parameters show (the texture rendered, or the image itself).
    public func image(_ parameters: Tensor) -> Tensor { render?.render(parameters) ?? parameters }

    /// The start: mid-grey plus N(0, 0.02²) noise from the seed, clamped to [0, 1] (faint, so the high-frequency
    /// energy of a result is what the run made, not what it started from).
    public func initialParameters() throws -> Tensor {
        let noise = try PhiloxNoise(seed: settings.seed).normal(shape: parameterShape, purpose: .initial)
        return Tensor(shape: parameterShape, data: noise.data.map { min(1, max(0, 0.5 + 0.02 * $0)) })
    }

    /// The random draws of step k: the timestep, the forward noise ε and the posterior sample's noise.
    public struct Draw {
        public let timestep: Int
        public let noise: Tensor
        public let posteriorNoise: Tensor
    }

    /// Step `step`'s draws: t from CounterRandom(seed, step); both noises from one Philox draw of the step
    /// (one image's stream, so runs with neighbouring seeds share nothing).
    public func draw(step: Int) throws -> Draw {
        let u = CounterRandom.uniform(seed: settings.seed, index: step)
        let t = timesteps.lowerBound + min(timesteps.count - 1, Int(Float(timesteps.count) * u))
        let per = latentShape.reduce(1, *)
        let both = try PhiloxNoise(seed: settings.seed).normal(shape: [1, 2 * per], purpose: .step(step))
        return Draw(timestep: t, noise: Tensor(shape: latentShape, data: Array(both.data[0..<per])),
                    posteriorNoise: Tensor(shape: latentShape, data: Array(both.data[per...])))
    }

    /// z = (mean + exp(½·clamp(logvar, −30, 20))·noise − shift)·scaling on `pixels`' tape (pixels in [0, 1]; the
    /// encoder reads 2I − 1), as diffusers' latent_dist.sample() times the scaling factor.
    public func encode(_ pixels: Variable, posteriorNoise: Tensor) throws -> Variable {
        let t = pixels.tape
        let x = t.add(t.scale(pixels, 2), t.constant(Tensor(shape: pixels.shape, repeating: -1)))
        let (mean, logVariance) = try vae.encodeMoments(ForwardScope(tape: t, weights: vae.weights), image: x)
        let std = t.exponential(t.scale(t.clamp(logVariance, -30, 20), 0.5))
        var z = t.add(mean, t.mul(std, t.constant(posteriorNoise)))
        if let shift = vae.config.shiftFactor, shift != 0 {
            z = t.add(z, t.constant(Tensor(shape: z.shape, repeating: -shift)))
        }
        return t.scale(z, vae.scalingFactor)
    }

    /// w(t) = 1 − ᾱ_t (PGC-3D's weight_choice 0).
    public func weight(timestep t: Int) -> Float { Float(1 - alphasCumprod[t]) }

    /// g = w(t)(ε̂ − ε) at latent `z` for `draw`. The denoiser runs in σ-space: x = z + σε (z_t/√ᾱ) and
    /// ε̂ = (x − D̂)/σ; CFG combines D_u + w(D_c − D_u), the same as combining ε since both passes share x.
    public func latentGradient(_ z: Tensor, draw: Draw) throws -> Tensor {
        let abar = alphasCumprod[draw.timestep]
        let sigma = Float(((1 - abar) / abar).squareRoot())
        let x = lincomb(z, 1, draw.noise, sigma)
        let w = settings.cfgScale, guided = abs(w - 1) > 1e-6
        let d: Tensor
        if guided {
            let both = try denoiser.denoise(concatBatch(x, x), sigma: sigma,
                                            condition: Condition(classLabels: [settings.classID, Condition.nullLabel]))
            let per = x.count
            let cond = Tensor(shape: x.shape, data: Array(both.data[0..<per]))
            let uncond = Tensor(shape: x.shape, data: Array(both.data[per...]))
            d = lincomb(uncond, 1 - w, cond, w)
        } else {
            d = try denoiser.denoise(x, sigma: sigma, condition: Condition(classLabels: [settings.classID]))
        }
        let weight = weight(timestep: draw.timestep)
        var g = Tensor(shape: z.shape)
        for i in 0..<g.count {
            g.data[i] = weight * ((x.data[i] - d.data[i]) / sigma - draw.noise.data[i])
        }
        guard g.data.allSatisfy(\.isFinite) else {
            throw TweedieError.runtime("sds: the SDS gradient at t = \(draw.timestep) is not finite")
        }
        return g
    }

    /// What one step computed.
    public struct Step {
        public let draw: Draw
        /// g at the latent.
        public let latentGradient: Tensor
        /// ∂L/∂I before and after the clip.
        public let pixelGradient: Tensor
        public let clippedPixelGradient: Tensor
        /// The clipped gradient carried to the parameters (the texture's, or the image's own).
        public let parameterGradient: Tensor
        public let clip: PixelGradientClip.Report
    }

    /// The gradient of step `step` at `parameters` (shaped `parameterShape`).
    public func gradient(_ parameters: Tensor, step: Int) throws -> Step {
        let draw = try draw(step: step)
        let tape = Tape()
        let pixels = tape.leaf(image(parameters), requiresGrad: true)
        let z = try encode(pixels, posteriorNoise: draw.posteriorNoise)
        let g = try latentGradient(z.value, draw: draw)
        tape.backward(seeds: [(z, g)])
        let raw = pixels.grad ?? Tensor(shape: pixels.shape)
        var clipped = raw
        let report = settings.clip.apply(&clipped, threshold: settings.clipValue)
        return Step(draw: draw, latentGradient: g, pixelGradient: raw, clippedPixelGradient: clipped,
                    parameterGradient: render?.adjoint(clipped) ?? clipped, clip: report)
    }

    private func concatBatch(_ a: Tensor, _ b: Tensor) -> Tensor {
        Tensor(shape: [a.shape[0] + b.shape[0]] + a.shape.dropFirst(), data: a.data + b.data)
    }
}
