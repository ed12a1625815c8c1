import TweedieCore
import TweedieNoise

/// The DDPM training objective: for clean x0 draw t ~ U{0..T−1} and ε ~ N(0, I), form
/// x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε and regress the network output on ε (epsilon) or on
/// v = √ᾱ_t·ε − √(1−ᾱ_t)·x0 (v_prediction) with a mean squared error. Class labels are replaced by the null class
/// with probability `labelDropout` (classifier-free guidance training).
///
/// All randomness is counter-based on (seed, step, sample in batch): step k draws the same timesteps, noise and
/// dropout whether the run went straight through or was resumed.
public struct DiffusionObjective {
    /// ᾱ_t for t = 0..<T.
    public let alphasCumprod: [Double]
    /// The regression target.
    public let prediction: PredictionType
    /// Probability of dropping a label to `nullClass`.
    public let labelDropout: Float
    /// The class id meaning "no class"; nil for unconditional training.
    public let nullClass: Int?
    /// Seed of every draw.
    public let seed: UInt64

    /// One batch ready for the network.
    public struct Batch {
        /// x_t [N, C, H, W].
        public let noisy: Tensor
        /// t per sample.
        public let timesteps: [Float]
        /// Labels after dropout (nil when unconditional).
        public let labels: [Int]?
        /// ε or v.
        public let target: Tensor
    }

    /// An objective over `scheduler`'s ᾱ table.
    public init(scheduler: SchedulerConfig, prediction: PredictionType, labelDropout: Float, nullClass: Int?,
                seed: UInt64) {
        alphasCumprod = NoiseSchedule.alphasCumprod(scheduler)
        self.prediction = prediction
        self.labelDropout = labelDropout
        self.nullClass = nullClass
        self.seed = seed
    }

    /// Draws the timesteps, noise and label dropout of optimiser step `step` for clean `images` [N, C, H, W].
    public func batch(images: Tensor, labels: [Int]?, step: Int) throws -> Batch {
        let n = images.shape[0], per = images.count / max(n, 1), steps = alphasCumprod.count
        let first = step * n
        let timesteps = (0..<n).map { i -> Int in
            min(steps - 1, Int(CounterRandom.uniform(seed: seed ^ 0x7469_6D65, index: first + i) * Float(steps)))
        }
        let noise = try PhiloxNoise(seed: seed, firstImage: first).normal(shape: images.shape, purpose: .custom(11))
        var noisy = Tensor(shape: images.shape), target = Tensor(shape: images.shape)
        let v = prediction == .vPrediction
        images.withUnsafeBufferPointer { x0 in
            noise.withUnsafeBufferPointer { eps in
                noisy.withUnsafeMutableBufferPointer { xt in
                    target.withUnsafeMutableBufferPointer { tg in
                        for i in 0..<n {
                            let a = Float(alphasCumprod[timesteps[i]].squareRoot())
                            let s = Float((1 - alphasCumprod[timesteps[i]]).squareRoot())
                            for j in (i * per)..<((i + 1) * per) {
                                xt[j] = a * x0[j] + s * eps[j]
                                tg[j] = v ? a * eps[j] - s * x0[j] : eps[j]
                            }
                        }
                    }
                }
            }
        }
        var dropped = labels
        if let null = nullClass, var l = labels, labelDropout > 0 {
            for i in 0..<n where CounterRandom.uniform(seed: seed ^ 0x6C61_626C, index: first + i) < labelDropout {
                l[i] = null
            }
            dropped = l
        }
        return Batch(noisy: noisy, timesteps: timesteps.map(Float.init), labels: dropped, target: target)
    }
}
