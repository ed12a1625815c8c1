/// Exact area (box-filter) resampling of a single-channel image: each output pixel is the mean of the source
/// area it covers, with fractional weights at its edges — the anti-aliased "INTER_AREA" of image libraries,
/// for any size ratio (upscaling repeats pixels, blending only where an output pixel straddles two).
public enum AreaResize {
    /// Resizes `source` (height x width, row-major) to `outHeight` x `outWidth`, writing into `out`.
    public static func resize(_ source: UnsafePointer<Float>, height: Int, width: Int,
                              into out: UnsafeMutablePointer<Float>, outHeight: Int, outWidth: Int) {
        let rows = weights(from: height, to: outHeight), cols = weights(from: width, to: outWidth)
        // Columns first into a (height x outWidth) buffer, then rows.
        let mid = UnsafeMutablePointer<Float>.allocate(capacity: height * outWidth)
        defer { mid.deallocate() }
        for y in 0..<height {
            for (j, taps) in cols.enumerated() {
                var s: Float = 0
                for (x, w) in taps { s += w * source[y * width + x] }
                mid[y * outWidth + j] = s
            }
        }
        for (i, taps) in rows.enumerated() {
            for j in 0..<outWidth {
                var s: Float = 0
                for (y, w) in taps { s += w * mid[y * outWidth + j] }
                out[i * outWidth + j] = s
            }
        }
    }

    /// For each output index, the source indices it overlaps and their weights (summing to 1).
    static func weights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let step = Double(n) / Double(m)
        return (0..<m).map { i in
            let a = Double(i) * step, b = Double(i + 1) * step
            var taps: [(Int, Float)] = []
            var k = Int(a.rounded(.down))
            while Double(k) < b && k < n {
                let overlap = min(b, Double(k + 1)) - max(a, Double(k))
                if overlap > 1e-12 { taps.append((k, Float(overlap / step))) }
                k += 1
            }
            return taps
        }
    }
}
