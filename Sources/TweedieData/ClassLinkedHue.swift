import TweedieCore

/// The "class-linked hue" recipe (version 1) that turns Fashion-MNIST into a 32x32 RGB, class-conditional data set.
///
/// For the image with data-set index `i`, label `k` and grey bytes `g[y][x]` (28x28), with generator seed `s`:
/// 1. Pad to 32x32 with 2 black pixels on every side (as commonly done for 32x32 networks).
/// 2. Draw three uniforms `u_j = CounterRandom.uniform(seed: s, index: 4 * i + j)`, j = 0, 1, 2 (TweedieCore's
///    counter-based SplitMix64 hash, so sample `i` gets the same colour whatever batch or order it is drawn in).
/// 3. hue `h = frac(k / 10 + 0.03 * (2 u_0 - 1))` (class k sits at k/10 of the hue circle, jitter ±0.03),
///    saturation `S = 0.55 + 0.40 u_1` (0.55...0.95), value scale `V = 0.8 + 0.2 u_2` (0.8...1.0).
/// 4. Each pixel's RGB is `HSV→RGB(h, S, V * g / 255)` (the standard hexcone conversion); background stays black.
/// 5. Output in the model space: `2 * RGB - 1` in [-1, 1], NCHW [n, 3, 32, 32].
/// Everything is Float32 arithmetic and deterministic for a given (seed, index).
public enum ClassLinkedHue {
    /// Recipe identifier for model cards.
    public static let recipe = "class-linked-hue-v1"
    /// Output side after padding.
    public static let side = 32
    /// Black border added on each side of the 28x28 image.
    public static let padding = 2
    /// Half-width of the uniform hue jitter, in turns of the hue circle.
    public static let hueJitter: Float = 0.03
    /// Range of the per-sample saturation.
    public static let saturationRange: ClosedRange<Float> = 0.55...0.95
    /// Range of the per-sample value (brightness) scale.
    public static let valueRange: ClosedRange<Float> = 0.8...1.0

    /// One sample's colour: hue in [0, 1), saturation and value scale.
    public struct Colour: Equatable, Sendable {
        public let hue: Float
        public let saturation: Float
        public let value: Float
    }

    /// The colour of sample `index` with label `label` under `seed` (steps 2–3 of the recipe).
    public static func colour(label: Int, index: Int, seed: UInt64) -> Colour {
        let u0 = CounterRandom.uniform(seed: seed, index: 4 * index)
        let u1 = CounterRandom.uniform(seed: seed, index: 4 * index + 1)
        let u2 = CounterRandom.uniform(seed: seed, index: 4 * index + 2)
        var h = Float(label) / 10 + hueJitter * (2 * u0 - 1)
        h -= h.rounded(.down)
        if h >= 1 { h = 0 }  // frac of a value just below 0 can round up to 1
        let s = saturationRange.lowerBound + (saturationRange.upperBound - saturationRange.lowerBound) * u1
        let v = valueRange.lowerBound + (valueRange.upperBound - valueRange.lowerBound) * u2
        return Colour(hue: h, saturation: s, value: v)
    }

    /// Colourised Fashion-MNIST images `indices` as [n, 3, 32, 32] in [-1, 1]; the data-set index keys the colour.
    public static func images(_ data: FashionMNIST, indices: [Int], seed: UInt64) -> Tensor {
        images(pixels: data.pixels, labels: data.labels, indices: indices, seed: seed)
    }

    /// The recipe over raw 28x28 grey bytes (`pixels` holds images back to back) and their labels.
    public static func images(pixels: [UInt8], labels: [Int], indices: [Int], seed: UInt64) -> Tensor {
        let inSide = FashionMNIST.side, inPlane = inSide * inSide, plane = side * side
        precondition(pixels.count == labels.count * inPlane,
                     "ClassLinkedHue: \(pixels.count) bytes for \(labels.count) images")
        return Tensor(shape: [indices.count, 3, side, side]) { out in
            guard let po = out.baseAddress else { return }
            pixels.withUnsafeBufferPointer { src in
                parallelFor(indices.count, grain: 16) { n in
                    let i = indices[n]
                    precondition(i >= 0 && i < labels.count, "ClassLinkedHue: index \(i) outside 0..<\(labels.count)")
                    let c = colour(label: labels[i], index: i, seed: seed)
                    let unit = hsvToRGB(hue: c.hue, saturation: c.saturation, value: 1)
                    let dst = po + n * 3 * plane
                    (dst).update(repeating: -1, count: 3 * plane)
                    for y in 0..<inSide {
                        for x in 0..<inSide {
                            let v = c.value * Float(src[i * inPlane + y * inSide + x]) / 255
                            let o = (y + padding) * side + x + padding
                            // HSV→RGB is linear in value for fixed hue and saturation.
                            dst[o] = 2 * (unit.r * v) - 1
                            dst[plane + o] = 2 * (unit.g * v) - 1
                            dst[2 * plane + o] = 2 * (unit.b * v) - 1
                        }
                    }
                }
            }
        }
    }

    /// The standard hexcone HSV→RGB conversion; hue in turns [0, 1), all in [0, 1].
    public static func hsvToRGB(hue: Float, saturation s: Float, value v: Float) -> (r: Float, g: Float, b: Float) {
        let h6 = hue * 6
        let sector = h6.rounded(.down)
        let f = h6 - sector
        let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
        switch Int(sector) % 6 {
        case 0: return (v, t, p)
        case 1: return (q, v, p)
        case 2: return (p, v, t)
        case 3: return (p, q, v)
        case 4: return (t, p, v)
        default: return (v, p, q)
        }
    }
}
