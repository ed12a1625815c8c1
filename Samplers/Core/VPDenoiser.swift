import TweedieCore

/// Wraps a VP (DDPM-trained) network as a k-diffusion denoiser. For a batch x in sigma space it feeds the network
/// x / sqrt(sigma^2 + 1) at the timestep whose training sigma is `sigma` (log-sigma interpolation), then converts the
/// raw output to x0 in one place (`denoised(from:x:sigma:)`).
public final class VPDenoiser: Denoiser {
    /// The raw network: scaled input [N, C, ...], one timestep per sample, optional class labels -> raw output.
    public typealias Network = (_ scaledX: Tensor, _ timesteps: [Float], _ classLabels: [Int]?) throws -> Tensor

    /// Training sigmas and the sigma <-> timestep maps.
    public let table: VPSigmaTable
    /// What the network predicts.
    public let prediction: PredictionType
    /// The network also outputs a variance: the second half of the channels is dropped.
    public let learnedSigma: Bool
    /// The class id the network was trained to read as "no class" (nil: the network takes no labels at all).
    public let nullClass: Int?
    /// Clamp x0 to [-c, c] (diffusers' clip_sample); nil leaves it free.
    public let clipDenoised: Float?
    /// Round timesteps to the nearest training timestep (k-diffusion's quantize), for networks that only saw integers.
    public let quantizeTimesteps: Bool
    private let network: Network

    /// A denoiser over `network` trained with `alphasCumprod`.
    public init(alphasCumprod: [Double], prediction: PredictionType = .epsilon, learnedSigma: Bool = false,
                nullClass: Int? = nil, clipDenoised: Float? = nil, quantizeTimesteps: Bool = false,
                network: @escaping Network) {
        self.table = VPSigmaTable(alphasCumprod: alphasCumprod)
        self.prediction = prediction
        self.learnedSigma = learnedSigma
        self.nullClass = nullClass
        self.clipDenoised = clipDenoised
        self.quantizeTimesteps = quantizeTimesteps
        self.network = network
    }

    /// A denoiser configured from a scheduler config (betas, prediction type, clip_sample, learned variance).
    public convenience init(config: SchedulerConfig, nullClass: Int? = nil, learnedSigma: Bool? = nil,
                            quantizeTimesteps: Bool = false, network: @escaping Network) {
        self.init(alphasCumprod: NoiseSchedule.alphasCumprod(config), prediction: config.predictionType,
                  learnedSigma: learnedSigma ?? (config.varianceType?.hasPrefix("learned") ?? false),
                  nullClass: nullClass, clipDenoised: config.clipSample ? Float(config.clipSampleRange) : nil,
                  quantizeTimesteps: quantizeTimesteps, network: network)
    }

    /// Smallest and largest training sigma.
    public var sigmaMin: Float { Float(table.sigmaMin) }
    public var sigmaMax: Float { Float(table.sigmaMax) }

    /// The timestep the network is given at `sigma`.
    public func timestep(forSigma sigma: Float) -> Float {
        let t = table.timestep(forSigma: Double(sigma))
        return Float(quantizeTimesteps ? t.rounded() : t)
    }

    public func denoise(_ x: Tensor, sigma: Float, condition: Condition) throws -> Tensor {
        guard let n = x.shape.first, n > 0 else { throw TweedieError.badInput("VPDenoiser: empty batch \(x.shape)") }
        let cIn = 1 / (Double(sigma) * Double(sigma) + 1).squareRoot()
        let scaledX = scaled(x, Float(cIn))
        let labels = try classLabels(condition, batch: n)
        var out = try network(scaledX, [Float](repeating: timestep(forSigma: sigma), count: n), labels)
        if learnedSigma {
            guard out.rank >= 2, out.shape[1] == 2 * x.shape[1] else {
                throw TweedieError.runtime("VPDenoiser: learned-sigma output \(out.shape) lacks 2 x \(x.shape[1]) channels")
            }
            out = firstHalfOfChannels(out)
        }
        guard out.shape == x.shape else {
            throw TweedieError.runtime("VPDenoiser: network output \(out.shape) does not match input \(x.shape)")
        }
        return denoised(from: out, x: x, sigma: sigma)
    }

    /// Converts a raw prediction to x0 for input `x` (sigma space) at `sigma`:
    /// epsilon: x - sigma*eps; v: x/(sigma^2+1) - sigma/sqrt(sigma^2+1) * v; sample: as is; then the optional clip.
    public func denoised(from output: Tensor, x: Tensor, sigma: Float) -> Tensor {
        let s = Double(sigma)
        var x0: Tensor
        switch prediction {
        case .epsilon: x0 = lincomb(x, 1, output, -sigma)
        case .vPrediction: x0 = lincomb(x, Float(1 / (s * s + 1)), output, Float(-s / (s * s + 1).squareRoot()))
        case .sample: x0 = output
        }
        if let c = clipDenoised {
            x0.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = min(max(p[i], -c), c) } }
        }
        return x0
    }

    /// Labels handed to the network: nil for label-free networks, else null entries mapped to `nullClass`.
    func classLabels(_ condition: Condition, batch: Int) throws -> [Int]? {
        guard let null = nullClass else { return nil }
        let labels = condition.labels(count: batch)
        guard labels.count == batch else {
            throw TweedieError.badInput("condition has \(labels.count) class labels for a batch of \(batch)")
        }
        return labels.map { $0 == Condition.nullLabel ? null : $0 }
    }

    private func firstHalfOfChannels(_ t: Tensor) -> Tensor {
        let n = t.shape[0], c = t.shape[1] / 2
        let inner = t.count / (t.shape[0] * t.shape[1])
        var shape = t.shape
        shape[1] = c
        return Tensor(shape: shape) { out in
            t.withUnsafeBufferPointer { src in
                for b in 0..<n {
                    let from = b * 2 * c * inner, to = b * c * inner
                    for i in 0..<(c * inner) { out[to + i] = src[from + i] }
                }
            }
        }
    }
}
