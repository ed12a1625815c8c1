import TweedieCore

/// `smoothness`: negative total variation, −Σ (√(Δ² + δ²) − δ) over horizontal and vertical neighbour differences
/// Δ of every channel of (x + 1) / 2, divided by the number of values N·C·H·W. The Charbonnier form with δ = 0.01
/// is |Δ| away from zero and smooth at it, so the gradient exists everywhere and finite differences can check it.
public struct SmoothnessReward: DifferentiableReward {
    /// Smoothing of |Δ| near zero, in [0, 1] pixel units.
    public static let delta: Float = 0.01

    public let name = "smoothness"

    /// The reward.
    public init() {}

    public func check(sampleShape: [Int]) throws {
        try RewardPixels.check(sampleShape, who: name)
        guard sampleShape[1] >= 2 || sampleShape[2] >= 2 else {
            throw TweedieError.badInput("reward smoothness: a 1x1 image has no neighbours")
        }
    }

    public func reward(_ images: Variable) throws -> Variable {
        try check(sampleShape: Array(images.shape.dropFirst()))
        let v = images.value, id = images.id
        let (h, w) = (v.shape[2], v.shape[3]), planes = v.shape[0] * v.shape[1]
        let d = Self.delta
        var grads = [Float](repeating: 0, count: v.count)
        var total = 0.0
        v.withUnsafeBufferPointer { p in
            for q in 0..<planes {
                let base = q * h * w
                for y in 0..<h {
                    for x in 0..<w {
                        let i = base + y * w + x
                        // Each neighbour pair once: right and down. Differences of (x + 1)/2 are Δx / 2.
                        for j in [x + 1 < w ? i + 1 : -1, y + 1 < h ? i + w : -1] where j >= 0 {
                            let diff = (p[j] - p[i]) * 0.5
                            let r = (diff * diff + d * d).squareRoot()
                            total += Double(r - d)
                            let g = diff / r * 0.5
                            grads[j] += g
                            grads[i] -= g
                        }
                    }
                }
            }
        }
        let shape = v.shape, count = Float(v.count)
        return images.tape.record(Tensor(scalar: Float(-total / Double(v.count))), inputs: [images]) { g, tape in
            let k = -g.data[0] / count
            tape.accumulate(id, Tensor(shape: shape, data: grads.map { $0 * k }))
        }
    }
}
