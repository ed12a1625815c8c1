import TweedieCore

/// Adaptive projected guidance (Sadat et al. 2024, "Eliminating Oversaturation and Artifacts of High Guidance
/// Scales in Diffusion Models"), the official algorithm on x0 predictions:
///   diff = cond - uncond; with momentum beta (negative, e.g. -0.5): running = diff + beta * running, diff = running;
///   with norm threshold r > 0: diff *= min(1, r / ||diff||) per sample;
///   split diff into parts parallel and orthogonal to cond (Float64, cond normalised per sample);
///   guided = cond + (w - 1) * (orthogonal + eta * parallel).
/// w = 1 is the conditional prediction; eta = 1, beta = 0, r = 0 reduce to CFG. The momentum restarts every run.
public final class AdaptiveProjectedGuidance: Guider {
    /// Guidance scale w (diffusers' convention, as for CFG).
    public let scale: Float
    /// Weight of the parallel component (the paper recommends 0).
    public let eta: Float
    /// Reverse momentum beta (the paper uses -0.5; 0 disables the buffer).
    public let momentum: Float
    /// Norm threshold r (0 disables rescaling).
    public let normThreshold: Float
    private var running: Tensor?

    /// APG with scale `scale`, parallel weight `eta`, momentum `momentum` and norm threshold `normThreshold`.
    public init(scale: Float, eta: Float = 0, momentum: Float = -0.5, normThreshold: Float = 0) {
        self.scale = scale
        self.eta = eta
        self.momentum = momentum
        self.normThreshold = normThreshold
    }

    /// `--guidance apg` with `--apg-eta`, `--apg-momentum` and `--apg-norm-threshold`.
    public static let description = GuiderDescription(
        name: "apg",
        parameters: [
            GuiderParameter(key: "apg_eta", label: "APG eta", defaultValue: 0,
                            help: "APG weight of the parallel component (default 0)."),
            GuiderParameter(key: "apg_momentum", label: "APG momentum", defaultValue: -0.5,
                            help: "APG momentum (default -0.5)."),
            GuiderParameter(key: "apg_norm_threshold", label: "APG norm threshold", defaultValue: 0, minimum: 0,
                            help: "APG norm threshold, 0 = off (default 0)."),
        ],
        build: { w, v in
            AdaptiveProjectedGuidance(scale: w, eta: v["apg_eta"] ?? 0, momentum: v["apg_momentum"] ?? -0.5,
                                      normThreshold: v["apg_norm_threshold"] ?? 0)
        })

    public func needsUnconditional(step: Int, total: Int) -> Bool { abs(scale - 1) > 1e-6 }

    public func reset() { running = nil }

    public func combine(conditional c: Tensor, unconditional u: Tensor, step: Int, total: Int) -> Tensor {
        var diff = lincomb(c, 1, u, -1)
        if momentum != 0 {
            if let r = running, r.shape == diff.shape { diff = lincomb(diff, 1, r, momentum) }
            running = diff
        }
        if normThreshold > 0 {
            let r = Double(normThreshold)
            diff = SampleStats.scalePerSample(diff, SampleStats.norm(diff).map { min(1, $0 > 0 ? r / $0 : 1) })
        }
        let (parallel, orthogonal) = project(diff, onto: c)
        let update = lincomb(orthogonal, 1, parallel, eta)
        return lincomb(c, 1, update, scale - 1)
    }

    /// Splits `v` into components parallel and orthogonal to `direction`, per sample, computed in Float64 and
    /// rounded back (the official code's double-precision projection; zero directions have norm clamped to 1e-12).
    func project(_ v: Tensor, onto direction: Tensor) -> (Tensor, Tensor) {
        let (n, per) = SampleStats.layout(v)
        var parallel = [Float](repeating: 0, count: v.count)
        var orthogonal = [Float](repeating: 0, count: v.count)
        v.withUnsafeBufferPointer { pv in
            direction.withUnsafeBufferPointer { pd in
                for b in 0..<n {
                    let o = b * per
                    var nn = 0.0
                    for i in 0..<per { nn += Double(pd[o + i]) * Double(pd[o + i]) }
                    let inv = 1 / max(nn.squareRoot(), 1e-12)
                    var dot = 0.0
                    for i in 0..<per { dot += Double(pv[o + i]) * (Double(pd[o + i]) * inv) }
                    for i in 0..<per {
                        let par = dot * (Double(pd[o + i]) * inv)
                        parallel[o + i] = Float(par)
                        orthogonal[o + i] = Float(Double(pv[o + i]) - par)
                    }
                }
            }
        }
        return (Tensor(shape: v.shape, data: parallel), Tensor(shape: v.shape, data: orthogonal))
    }
}
