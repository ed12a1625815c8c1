/// An 8-bit image with interleaved channels: 1 = gray, 2 = gray+alpha, 3 = RGB, 4 = RGBA.
/// Pixels are row-major, top row first: `pixels[(y * width + x) * channels + c]`.
public struct PNGImage: Equatable, Sendable {
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int
    /// Samples per pixel (1...4).
    public var channels: Int
    /// `width * height * channels` samples, interleaved.
    public var pixels: [UInt8]

    /// An image over existing samples; the count must be `width * height * channels`.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "PNGImage: size \(width)x\(height) must be positive")
        precondition((1...4).contains(channels), "PNGImage: \(channels) channels (1...4 allowed)")
        precondition(pixels.count == width * height * channels,
                     "PNGImage: \(pixels.count) samples for \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image with every sample set to `value`.
    public init(width: Int, height: Int, channels: Int, repeating value: UInt8 = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: value, count: max(0, width * height * channels)))
    }

    /// Sample `c` of pixel (`x`, `y`).
    public subscript(x x: Int, y y: Int, c c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }

    /// Whether the last channel is alpha (2 or 4 channels).
    public var hasAlpha: Bool { channels == 2 || channels == 4 }

    /// The same picture with `count` channels: gray is replicated to RGB, alpha is dropped (not composited) or
    /// added as opaque, and RGB becomes gray with PIL's "L" weights (299 R + 587 G + 114 B) / 1000.
    public func converted(toChannels count: Int) -> PNGImage {
        precondition((1...4).contains(count), "PNGImage.converted: \(count) channels (1...4 allowed)")
        if count == channels { return self }
        let n = width * height
        let srcColor = channels >= 3, dstColor = count >= 3
        let dstAlpha = count == 2 || count == 4
        var out = [UInt8](repeating: 0, count: n * count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let s = i * channels, d = i * count
                    if dstColor {
                        for k in 0..<3 { dst[d + k] = srcColor ? src[s + k] : src[s] }
                    } else if srcColor {
                        let l = 299 * Int(src[s]) + 587 * Int(src[s + 1]) + 114 * Int(src[s + 2])
                        dst[d] = UInt8((l + 500) / 1000)
                    } else {
                        dst[d] = src[s]
                    }
                    if dstAlpha { dst[d + count - 1] = hasAlpha ? src[s + channels - 1] : 255 }
                }
            }
        }
        return PNGImage(width: width, height: height, channels: count, pixels: out)
    }
}
