import TweedieCore

extension ImageMetrics {
    /// Mean HSV saturation of RGB(A) tensors [N, 3 or 4, H, W] over all pixels (alpha ignored). Values are first
    /// mapped to [0, 1] (`x / 2 + 0.5` for `.minusOneToOne`) and clamped; per pixel S = (max - min) / max, 0 where
    /// max = 0, the HSV definition of colorsys and matplotlib's `rgb_to_hsv`.
    public static func meanSaturation(_ rgb: Tensor, range: PixelRange = .minusOneToOne) throws -> Double {
        guard rgb.rank == 4, rgb.shape[1] == 3 || rgb.shape[1] == 4, rgb.count > 0 else {
            throw TweedieError.badInput("saturation: shape \(rgb.shape) is not a non-empty [N, 3 or 4, H, W]")
        }
        let (n, c, plane) = (rgb.shape[0], rgb.shape[1], rgb.shape[2] * rgb.shape[3])
        let (a, b): (Float, Float) = range == .minusOneToOne ? (0.5, 0.5) : (1, 0)
        var sum = 0.0
        rgb.withUnsafeBufferPointer { x in
            for i in 0..<n {
                let base = i * c * plane
                for p in 0..<plane {
                    let r = unit(x[base + p] * a + b), g = unit(x[base + plane + p] * a + b)
                    let bl = unit(x[base + 2 * plane + p] * a + b)
                    sum += saturation(Double(r), Double(g), Double(bl))
                }
            }
        }
        return sum / Double(n * plane)
    }

    /// Mean HSV saturation of RGB or RGBA images (same definition as the tensor form, on bytes / 255).
    public static func meanSaturation(_ images: [PNGImage]) throws -> Double {
        guard !images.isEmpty else { throw TweedieError.badInput("saturation: no images given") }
        var sum = 0.0, count = 0
        for (k, img) in images.enumerated() {
            guard img.channels >= 3 else {
                throw TweedieError.badInput("saturation: image \(k) has \(img.channels) channels, RGB(A) needed")
            }
            img.pixels.withUnsafeBufferPointer { px in
                for p in 0..<(img.width * img.height) {
                    let s = p * img.channels
                    sum += saturation(Double(px[s]), Double(px[s + 1]), Double(px[s + 2]))
                }
            }
            count += img.width * img.height
        }
        return sum / Double(count)
    }

    private static func unit(_ v: Float) -> Float { v >= 0 ? min(v, 1) : 0 }

    private static func saturation(_ r: Double, _ g: Double, _ b: Double) -> Double {
        let hi = max(r, g, b), lo = min(r, g, b)
        return hi > 0 ? (hi - lo) / hi : 0
    }
}
