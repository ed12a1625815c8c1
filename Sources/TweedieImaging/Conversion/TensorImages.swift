import TweedieCore

extension PNGImage {
    /// Quantises a [N, C, H, W] tensor (C = 1...4: gray, gray+alpha, RGB, RGBA) to N images.
    ///
    /// Exact mapping, bit-compatible with diffusers' `VaeImageProcessor.postprocess` + `numpy_to_pil` in
    /// Float32: `v = x * 0.5 + 0.5` (`.minusOneToOne`) or `v = x` (`.zeroToOne`); `v = clamp(v, 0, 1)`;
    /// `byte = round(v * 255)` with ties to even, as NumPy's `round` does (ties only occur when `v * 255` is
    /// exactly k + 0.5). NaN becomes 0. `clippedFraction` is the share of samples with v < 0, v > 1 or NaN
    /// before clamping, a cheap divergence signal for samplers.
    public static func images(from tensor: Tensor, range: PixelRange = .minusOneToOne) throws
        -> (images: [PNGImage], clippedFraction: Double) {
        let (images, clipped) = try quantise(tensor, range: range)
        return (images, tensor.count == 0 ? 0 : Double(clipped.reduce(0, +)) / Double(tensor.count))
    }

    /// `images(from:range:)` with each image's own clipped fraction: the share of its C x H x W values that
    /// fell outside the range (or were NaN) before clamping.
    public static func imagesWithClipping(from tensor: Tensor, range: PixelRange = .minusOneToOne) throws
        -> (images: [PNGImage], clippedFractions: [Double]) {
        let (images, clipped) = try quantise(tensor, range: range)
        let size = Double(tensor.shape[1] * tensor.shape[2] * tensor.shape[3])
        return (images, clipped.map { Double($0) / size })
    }

    /// The images and the number of clipped values of each.
    private static func quantise(_ tensor: Tensor, range: PixelRange) throws -> ([PNGImage], [Int]) {
        guard tensor.rank == 4, (1...4).contains(tensor.shape[1]), tensor.shape[2] > 0, tensor.shape[3] > 0 else {
            throw TweedieError.badInput(
                "image tensor: shape \(tensor.shape) is not [N, C, H, W] with 1-4 channels and a non-empty plane")
        }
        let (n, c, h, w) = (tensor.shape[0], tensor.shape[1], tensor.shape[2], tensor.shape[3])
        let plane = h * w
        let (a, b): (Float, Float) = range == .minusOneToOne ? (0.5, 0.5) : (1, 0)
        let size = plane * c
        var bytes = [UInt8](repeating: 0, count: n * size)
        var clipped = [Int](repeating: 0, count: n)
        tensor.withUnsafeBufferPointer { src in
            bytes.withUnsafeMutableBufferPointer { dstAll in
                clipped.withUnsafeMutableBufferPointer { clipAll in
                    let (dst, clip) = (dstAll, clipAll)  // let copies: the closure below runs concurrently
                    parallelFor(n) { i in
                        var count = 0
                        for ch in 0..<c {
                            let base = (i * c + ch) * plane
                            for p in 0..<plane {
                                var v = src[base + p] * a + b
                                if !(v >= 0 && v <= 1) {
                                    count += 1
                                    v = v > 1 ? 1 : 0
                                }
                                dst[i * size + p * c + ch] = UInt8((v * 255).rounded(.toNearestOrEven))
                            }
                        }
                        clip[i] = count
                    }
                }
            }
        }
        let images = (0..<n).map {
            PNGImage(width: w, height: h, channels: c, pixels: Array(bytes[$0 * size..<($0 + 1) * size]))
        }
        return (images, clipped)
    }

    /// Stacks same-sized images into a [N, C, H, W] tensor: `x = byte / 255` for `.zeroToOne`, and
    /// `x = byte / 255 * 2 - 1` for `.minusOneToOne` (diffusers' `preprocess` normalisation).
    /// `channels` converts each image first (see `converted(toChannels:)`); nil keeps the images' own.
    public static func tensor(from images: [PNGImage], range: PixelRange = .minusOneToOne,
                              channels: Int? = nil) throws -> Tensor {
        guard let first = images.first else { throw TweedieError.badInput("image tensor: no images given") }
        let c = channels ?? first.channels
        guard (1...4).contains(c) else { throw TweedieError.badInput("image tensor: \(c) channels (1...4 allowed)") }
        for (i, img) in images.enumerated() where img.width != first.width || img.height != first.height
            || (channels == nil && img.channels != first.channels) {
            throw TweedieError.badInput("image tensor: image \(i) is \(img.width)x\(img.height)x\(img.channels), "
                + "image 0 is \(first.width)x\(first.height)x\(first.channels)")
        }
        return stack(images, range: range, channels: c)
    }

    /// This image as a [1, C, H, W] tensor in `range` (see `tensor(from:range:channels:)`).
    public func tensor(range: PixelRange = .minusOneToOne) -> Tensor {
        PNGImage.stack([self], range: range, channels: channels)
    }

    /// Batch conversion for images already checked to share a size.
    private static func stack(_ images: [PNGImage], range: PixelRange, channels c: Int) -> Tensor {
        let (h, w) = (images[0].height, images[0].width)
        let plane = h * w
        let (a, b): (Float, Float) = range == .minusOneToOne ? (2, -1) : (1, 0)
        return Tensor(shape: [images.count, c, h, w]) { dst in
            for (i, img) in images.enumerated() {
                let src = img.channels == c ? img : img.converted(toChannels: c)
                src.pixels.withUnsafeBufferPointer { px in
                    for ch in 0..<c {
                        let base = (i * c + ch) * plane
                        for p in 0..<plane { dst[base + p] = Float(px[p * c + ch]) / 255 * a + b }
                    }
                }
            }
        }
    }
}
