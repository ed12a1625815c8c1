import CFFTW
import Synchronization

/// A 2-D complex FFT of one shape through FFTW, planned once and shared: `FFT2D.shared(height:width:)` returns
/// the cached plan pair for a shape, so no call plans. FFTW's planner is not thread-safe, so every plan is made
/// under one process-wide lock; executing a plan (`fftwf_execute_dft` on new arrays) is thread-safe, and each call
/// works in its own FFTW-aligned scratch, so one `FFT2D` serves any number of threads at once.
///
/// Plans are made with FFTW_ESTIMATE: the same plan (and so bitwise the same result) in every run, where
/// FFTW_MEASURE would time candidates and could pick different algorithms from run to run.
public final class FFT2D: @unchecked Sendable {
    /// Rows and columns.
    public let height: Int, width: Int
    private let forwardPlan: fftwf_plan
    private let backwardPlan: fftwf_plan

    private static let planner = Mutex<[Int: FFT2D]>([:])

    /// The shared transform for `height` x `width`.
    public static func shared(height: Int, width: Int) -> FFT2D {
        precondition(height > 0 && width > 0, "FFT2D: empty shape \(height)x\(width)")
        return planner.withLock { cache in
            let key = height << 32 | width
            if let f = cache[key] { return f }
            let f = FFT2D(height: height, width: width)
            cache[key] = f
            return f
        }
    }

    /// Called with the planner lock held.
    private init(height: Int, width: Int) {
        self.height = height
        self.width = width
        let n = height * width
        let scratch = fftwf_alloc_complex(n)!
        defer { fftwf_free(scratch) }
        let flags = UInt32(FFTW_ESTIMATE)
        forwardPlan = fftwf_plan_dft_2d(Int32(height), Int32(width), scratch, scratch, FFTW_FORWARD, flags)!
        backwardPlan = fftwf_plan_dft_2d(Int32(height), Int32(width), scratch, scratch, FFTW_BACKWARD, flags)!
    }

    deinit {
        fftwf_destroy_plan(forwardPlan)
        fftwf_destroy_plan(backwardPlan)
    }

    /// Runs `body` with an FFTW-aligned scratch of `height * width` complex values (2x floats, interleaved).
    public func withScratch<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let p = fftwf_alloc_complex(height * width)!
        defer { fftwf_free(p) }
        return try p.withMemoryRebound(to: Float.self, capacity: 2 * height * width) { try body($0) }
    }

    /// In-place unnormalised DFT of a scratch from `withScratch`: e^{-2πi…} forward, e^{+2πi…} when `inverse`.
    public func execute(_ scratch: UnsafeMutablePointer<Float>, inverse: Bool) {
        scratch.withMemoryRebound(to: fftwf_complex.self, capacity: height * width) { c in
            fftwf_execute_dft(inverse ? backwardPlan : forwardPlan, c, c)
        }
    }

    /// The centred orthonormal transform, numpy's `fftshift(fft2(ifftshift(x), norm="ortho"))` (`fft2c`), from
    /// `src` to `dst` (interleaved complex, `height * width` each; they may alias): `inverse` gives `ifft2c`.
    public func centered(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, inverse: Bool) {
        let (h, w) = (height, width)
        withScratch { s in
            // ifftshift: s[i, j] = src[(i + h/2) % h, (j + w/2) % w].
            FFT2D.shiftCopy(src, s, h: h, w: w, dy: h / 2, dx: w / 2, scale: 1)
            execute(s, inverse: inverse)
            // fftshift with the orthonormal scale: dst[i, j] = s[(i + h - h/2) % h, (j + w - w/2) % w] / √(hw).
            FFT2D.shiftCopy(UnsafePointer(s), dst, h: h, w: w, dy: h - h / 2, dx: w - w / 2,
                            scale: 1 / Float(Double(h * w).squareRoot()))
        }
    }

    /// dst[i, j] = src[(i + dy) % h, (j + dx) % w] · scale over interleaved complex planes, row by row in two
    /// contiguous runs.
    static func shiftCopy(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, h: Int, w: Int,
                          dy: Int, dx: Int, scale: Float) {
        let split = w - dx  // columns j < split read src column j + dx; the rest wrap to j + dx - w
        for i in 0..<h {
            let from = src + 2 * ((i + dy) % h) * w, to = dst + 2 * i * w
            for k in 0..<(2 * split) { to[k] = from[2 * dx + k] * scale }
            for k in 0..<(2 * dx) { to[2 * split + k] = from[k] * scale }
        }
    }
}
