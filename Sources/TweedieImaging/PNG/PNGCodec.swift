import CPNG
import TweedieCore

/// Pixel encoding and decoding through libpng's simplified `png_image` API. That API runs libpng's
/// setjmp/longjmp error handling inside C and reports failures through a return code and `image.message`,
/// so no longjmp ever crosses Swift frames. Text chunks are handled separately by `PNGChunks`/`PNGText`.
enum PNGCodec {
    /// Decoded images above this many samples are refused rather than allocated.
    static let maxSamples = 1 << 31

    /// A complete PNG stream (signature to IEND) holding the pixels, 8 bits per sample, non-interlaced.
    static func encode(_ image: PNGImage) throws -> [UInt8] {
        var control = png_image()
        control.version = png_uint_32(PNG_IMAGE_VERSION)
        control.width = png_uint_32(image.width)
        control.height = png_uint_32(image.height)
        control.format = format(channels: image.channels)
        // Room for stored (incompressible) data plus block, chunk and header overheads; retried if short.
        let raw = (image.width * image.channels + 1) * image.height
        var capacity = raw + raw / 64 + 4096
        for _ in 0..<2 {
            var out = [UInt8](repeating: 0, count: capacity)
            var size = png_alloc_size_t(capacity)
            let ok = out.withUnsafeMutableBytes { dst in
                image.pixels.withUnsafeBytes { src in
                    png_image_write_to_memory(&control, dst.baseAddress, &size, 0, src.baseAddress, 0, nil)
                }
            }
            if ok != 0 {
                out.removeLast(out.count - Int(size))
                return out
            }
            png_image_free(&control)
            guard Int(size) > capacity else { break }
            capacity = Int(size)
            control.warning_or_error = 0
        }
        throw TweedieError.runtime("PNG encoding failed: \(message(of: &control))")
    }

    /// Decodes a validated PNG stream to 8-bit samples, keeping the file's gray/colour and alpha layout
    /// (palette images expand to RGB or RGBA). 16-bit files are scaled to 8 bits, read as sRGB-encoded when
    /// they carry no gamma information (libpng would otherwise assume linear data and re-encode it).
    static func decode(_ bytes: [UInt8], name: String) throws -> PNGImage {
        var control = png_image()
        control.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&control) }
        let begun = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&control, $0.baseAddress, $0.count) }
        guard begun != 0 else { throw TweedieError.badInput("\(name): unreadable PNG (\(message(of: &control)))") }
        control.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)
        control.format &= png_uint_32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        let channels = (control.format & png_uint_32(PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1)
            + (control.format & png_uint_32(PNG_FORMAT_FLAG_ALPHA) != 0 ? 1 : 0)
        let width = Int(control.width), height = Int(control.height)
        let (area, o1) = width.multipliedReportingOverflow(by: height)
        let (samples, o2) = area.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, samples <= maxSamples else {
            throw TweedieError.badInput("\(name): PNG of \(width)x\(height) is too large to decode")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let done = pixels.withUnsafeMutableBytes { png_image_finish_read(&control, nil, $0.baseAddress, 0, nil) }
        guard done != 0 else { throw TweedieError.badInput("\(name): unreadable PNG (\(message(of: &control)))") }
        return PNGImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    private static func format(channels: Int) -> png_uint_32 {
        switch channels {
        case 1: return 0
        case 2: return png_uint_32(PNG_FORMAT_FLAG_ALPHA)
        case 3: return png_uint_32(PNG_FORMAT_FLAG_COLOR)
        default: return png_uint_32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        }
    }

    private static func message(of control: inout png_image) -> String {
        let text = withUnsafeBytes(of: &control.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "libpng reported an error" : text
    }
}
