import TweedieCore

/// What `tweedie sds --clip` does to ∂L/∂pixels (the gradient at the rendered image, after the VAE encoder and
/// before the texture or image parameters), with threshold c = `--clip-value`:
/// - `pixel`: Pixel-wise Gradient Clipping (Pan et al., ICLR 2024; PGC-3D's default "pwclip"): each pixel's RGB
///   gradient g_p is scaled by min(1, c / max_ch |g_p,ch|), keeping its direction, so only pixels above c change.
/// - `global`: one factor for the whole image, torch's clip_grad_norm_ at max norm c·√(H·W) per image (c per pixel
///   in root-mean-square, so one c bounds the same total as `pixel` would with every pixel at c).
/// - `clamp`: each element clamped to [−c, c] (PGC-3D's variant 1; it changes the direction of a clipped pixel).
/// - `none`: the gradient as it is.
public enum PixelGradientClip: String, CaseIterable, Sendable, Codable {
    case pixel, none, global, clamp

    /// `--clip NAME`: an unknown mode is `badInput` listing the valid ones.
    public init(parsing name: String) throws {
        guard let mode = PixelGradientClip(rawValue: name) else {
            throw TweedieError.badInput("--clip \(name) is unknown; valid: "
                                        + PixelGradientClip.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = mode
    }

    /// What one clip did: the share of pixels (or, for `clamp`, elements; for `global`, images) whose gradient was
    /// changed.
    public struct Report: Equatable, Sendable {
        public var clippedFraction: Double
    }

    /// Clips `g` [N, C, H, W] in place with threshold `c` (> 0) and reports what changed.
    @discardableResult
    public func apply(_ g: inout Tensor, threshold c: Float) -> Report {
        precondition(g.rank == 4, "PixelGradientClip: gradient must be [N, C, H, W], got \(g.shape)")
        precondition(c > 0, "PixelGradientClip: threshold must be positive")
        let (n, ch, plane) = (g.shape[0], g.shape[1], g.shape[2] * g.shape[3])
        var changed = 0
        g.withUnsafeMutableBufferPointer { p in
            switch self {
            case .none:
                break
            case .pixel:
                for b in 0..<n {
                    for i in 0..<plane {
                        var m: Float = 0
                        for k in 0..<ch { m = max(m, abs(p[(b * ch + k) * plane + i])) }
                        // min(1, c / m): the division only where it scales down, so m = 0 stays exact.
                        guard m > c else { continue }
                        let f = c / m
                        for k in 0..<ch { p[(b * ch + k) * plane + i] *= f }
                        changed += 1
                    }
                }
            case .global:
                let per = ch * plane
                let maxNorm = c * Float(plane).squareRoot()
                for b in 0..<n {
                    var s: Double = 0
                    for j in 0..<per { s += Double(p[b * per + j]) * Double(p[b * per + j]) }
                    // torch.nn.utils.clip_grad_norm_: scale by maxNorm / (norm + 1e-6) when that is below 1.
                    let f = maxNorm / (Float(s.squareRoot()) + 1e-6)
                    guard f < 1 else { continue }
                    for j in 0..<per { p[b * per + j] *= f }
                    changed += 1
                }
            case .clamp:
                for j in 0..<p.count where abs(p[j]) > c {
                    p[j] = p[j] > 0 ? c : -c
                    changed += 1
                }
            }
        }
        let units: Int
        switch self {
        case .pixel, .none: units = n * plane
        case .global: units = n
        case .clamp: units = g.count
        }
        return Report(clippedFraction: units == 0 ? 0 : Double(changed) / Double(units))
    }
}
