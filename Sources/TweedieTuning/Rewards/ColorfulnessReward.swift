import Foundation
import TweedieCore

/// `colorfulness`: the smooth mean HSV saturation of RGB images. Per pixel, with channels c in [0, 1] (the
/// clamped (x + 1) / 2), S = (M − m) / (M + ε) where M = Σ softmax(c/τ)·c and m = Σ softmax(−c/τ)·c are soft
/// maximum and minimum (convex combinations, so 0 ≤ m ≤ M ≤ 1 and a grey pixel scores exactly 0). HSV's
/// S = (max − min) / max is the limit τ, ε → 0; τ = 0.05 and ε = 0.05 keep the gradient bounded on dark pixels.
public struct ColorfulnessReward: DifferentiableReward {
    /// Softmax temperature of the soft max and min.
    public static let temperature: Float = 0.05
    /// Added to the denominator.
    public static let epsilon: Float = 0.05

    public let name = "colorfulness"

    /// The reward.
    public init() {}

    public func check(sampleShape: [Int]) throws { try RewardPixels.check(sampleShape, channels: 3, who: name) }

    public func reward(_ images: Variable) throws -> Variable {
        try check(sampleShape: Array(images.shape.dropFirst()))
        return Self.meanSaturation(RewardPixels.unit(images))
    }

    /// The mean of S over every pixel of `rgb` [N, 3, H, W] (values in [0, 1]), as a 0-d value; the pullback is
    /// the analytic derivative of S (see the type's note) per pixel.
    static func meanSaturation(_ rgb: Variable) -> Variable {
        let v = rgb.value, id = rgb.id
        let n = v.shape[0], plane = v.shape[2] * v.shape[3], pixels = n * plane
        let tau = temperature, eps = epsilon
        // Per pixel: S and dS/dc for the three channels, in one pass (the pullback only scales them).
        var grads = [Float](repeating: 0, count: v.count)
        var total = 0.0
        v.withUnsafeBufferPointer { p in
            for b in 0..<n {
                for i in 0..<plane {
                    let k0 = b * 3 * plane + i
                    let c = (p[k0], p[k0 + plane], p[k0 + 2 * plane])
                    let hi = max(c.0, c.1, c.2), lo = min(c.0, c.1, c.2)
                    // Shifted exponents (≤ 0) keep the softmax finite.
                    let w = (exp((c.0 - hi) / tau), exp((c.1 - hi) / tau), exp((c.2 - hi) / tau))
                    let u = (exp((lo - c.0) / tau), exp((lo - c.1) / tau), exp((lo - c.2) / tau))
                    let ws = w.0 + w.1 + w.2, us = u.0 + u.1 + u.2
                    let big = (w.0 * c.0 + w.1 * c.1 + w.2 * c.2) / ws
                    let small = (u.0 * c.0 + u.1 * c.1 + u.2 * c.2) / us
                    let s = (big - small) / (big + eps)
                    total += Double(s)
                    // dS/dM = (m + ε)/(M + ε)², dS/dm = −1/(M + ε); dM/dc_j = w_j(1 + (c_j − M)/τ),
                    // dm/dc_j = u_j(1 − (c_j − m)/τ) with w, u the normalised weights.
                    let dM = (small + eps) / ((big + eps) * (big + eps)), dm = -1 / (big + eps)
                    func d(_ cj: Float, _ wj: Float, _ uj: Float) -> Float {
                        dM * (wj / ws) * (1 + (cj - big) / tau) + dm * (uj / us) * (1 - (cj - small) / tau)
                    }
                    grads[k0] = d(c.0, w.0, u.0)
                    grads[k0 + plane] = d(c.1, w.1, u.1)
                    grads[k0 + 2 * plane] = d(c.2, w.2, u.2)
                }
            }
        }
        let shape = v.shape, scale = 1 / Float(pixels)
        return rgb.tape.record(Tensor(scalar: Float(total / Double(pixels))), inputs: [rgb]) { g, tape in
            let k = g.data[0] * scale
            tape.accumulate(id, Tensor(shape: shape, data: grads.map { $0 * k }))
        }
    }
}
