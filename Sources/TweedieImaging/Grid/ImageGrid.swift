import TweedieCore

extension PNGImage {
    /// Tiles same-sized images row by row into a near-square grid: `columns` defaults to ceil(sqrt(N)),
    /// rows = ceil(N / columns). A `border`-pixel frame surrounds every tile (also between tiles); the frame and
    /// any empty trailing cells take `borderValue` in the colour channels and are opaque in an alpha channel.
    public static func grid(_ images: [PNGImage], columns: Int? = nil, border: Int = 2,
                            borderValue: UInt8 = 0) throws -> PNGImage {
        guard let first = images.first else { throw TweedieError.badInput("image grid: no images given") }
        for (i, img) in images.enumerated()
        where img.width != first.width || img.height != first.height || img.channels != first.channels {
            throw TweedieError.badInput("image grid: image \(i) is \(img.width)x\(img.height)x\(img.channels), "
                + "image 0 is \(first.width)x\(first.height)x\(first.channels)")
        }
        guard border >= 0 else { throw TweedieError.badInput("image grid: border \(border) is negative") }
        let n = images.count
        var cols = columns ?? Int((Double(n).squareRoot()).rounded(.up))
        guard cols >= 1 else { throw TweedieError.badInput("image grid: columns \(cols) must be at least 1") }
        cols = min(cols, n)
        let rows = (n + cols - 1) / cols
        let (w, h, c) = (first.width, first.height, first.channels)
        var grid = PNGImage(width: cols * w + (cols + 1) * border, height: rows * h + (rows + 1) * border,
                            channels: c, repeating: borderValue)
        if first.hasAlpha {
            for i in stride(from: c - 1, to: grid.pixels.count, by: c) { grid.pixels[i] = 255 }
        }
        let rowBytes = w * c, gridRowBytes = grid.width * c
        grid.pixels.withUnsafeMutableBufferPointer { dst in
            for (k, img) in images.enumerated() {
                let x0 = border + (k % cols) * (w + border), y0 = border + (k / cols) * (h + border)
                img.pixels.withUnsafeBufferPointer { src in
                    for y in 0..<h {
                        let d = (y0 + y) * gridRowBytes + x0 * c
                        for i in 0..<rowBytes { dst[d + i] = src[y * rowBytes + i] }
                    }
                }
            }
        }
        return grid
    }
}
