#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TweedieCore

extension ImageMetrics {
    /// Gaussian window of Wang et al. (2004) as skimage builds it: sigma 1.5 truncated at 3.5 sigma, so radius
    /// int(3.5 * 1.5 + 0.5) = 5 and 11 taps, normalised to sum 1.
    static let ssimSigma = 1.5
    static let ssimRadius = 5

    /// Mean structural similarity (Wang et al. 2004) with Gaussian weighting, matching
    /// `skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    /// data_range=dataRange)` on float64 data: K1 = 0.01, K2 = 0.03, Gaussian filtering with 'reflect' borders,
    /// the SSIM map cropped by the 5-pixel window radius and averaged. The last two axes are H and W; every
    /// leading index (batch, channel) is one plane, and the result is the mean over planes (skimage's
    /// `channel_axis` average). Planes must be at least 11x11.
    public static func ssim(_ a: Tensor, _ b: Tensor, dataRange: Double) throws -> Double {
        try checkSameShape(a, b, metric: "SSIM")
        guard dataRange > 0 else { throw TweedieError.badInput("SSIM: data range \(dataRange) must be positive") }
        guard a.rank >= 2 else { throw TweedieError.badInput("SSIM: shape \(a.shape) needs at least [H, W]") }
        let h = a.shape[a.rank - 2], w = a.shape[a.rank - 1]
        let win = 2 * ssimRadius + 1
        guard h >= win, w >= win else {
            throw TweedieError.badInput("SSIM: planes of \(h)x\(w) are smaller than the \(win)x\(win) window")
        }
        let planes = a.count / (h * w)
        guard planes > 0 else { throw TweedieError.badInput("SSIM: empty tensors") }
        let c1 = (0.01 * dataRange) * (0.01 * dataRange), c2 = (0.03 * dataRange) * (0.03 * dataRange)
        let kernel = gaussianKernel()
        var means = [Double](repeating: 0, count: planes)
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                means.withUnsafeMutableBufferPointer { outAll in
                    let out = outAll
                    parallelFor(planes) { p in
                        out[p] = planeSSIM(x.baseAddress! + p * h * w, y.baseAddress! + p * h * w, h: h, w: w,
                                           kernel: kernel, c1: c1, c2: c2)
                    }
                }
            }
        }
        return means.reduce(0, +) / Double(planes)
    }

    static func gaussianKernel() -> [Double] {
        let r = ssimRadius
        let phi = (-r...r).map { exp(-0.5 / (ssimSigma * ssimSigma) * Double($0 * $0)) }
        let total = phi.reduce(0, +)
        return phi.map { $0 / total }
    }

    /// SSIM map of one plane averaged over the interior that the window fits in.
    private static func planeSSIM(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, h: Int, w: Int,
                                  kernel: [Double], c1: Double, c2: Double) -> Double {
        let n = h * w
        var inputs = [[Double]](repeating: [Double](repeating: 0, count: n), count: 5)
        for i in 0..<n {
            let (xi, yi) = (Double(x[i]), Double(y[i]))
            inputs[0][i] = xi
            inputs[1][i] = yi
            inputs[2][i] = xi * xi
            inputs[3][i] = yi * yi
            inputs[4][i] = xi * yi
        }
        var tmp = [Double](repeating: 0, count: n)
        let maps = inputs.map { src -> [Double] in
            var dst = [Double](repeating: 0, count: n)
            gaussianFilter(src, &dst, &tmp, h: h, w: w, kernel: kernel)
            return dst
        }
        let (ux, uy, uxx, uyy, uxy) = (maps[0], maps[1], maps[2], maps[3], maps[4])
        let r = ssimRadius
        var sum = 0.0
        for row in r..<(h - r) {
            for col in r..<(w - r) {
                let i = row * w + col
                let vx = uxx[i] - ux[i] * ux[i], vy = uyy[i] - uy[i] * uy[i], vxy = uxy[i] - ux[i] * uy[i]
                let a1 = 2 * ux[i] * uy[i] + c1, a2 = 2 * vxy + c2
                let b1 = ux[i] * ux[i] + uy[i] * uy[i] + c1, b2 = vx + vy + c2
                sum += (a1 * a2) / (b1 * b2)
            }
        }
        return sum / Double((h - 2 * r) * (w - 2 * r))
    }

    /// Separable Gaussian filter with scipy.ndimage's 'reflect' border (d c b a | a b c d | d c b a), first along
    /// H then along W as `gaussian_filter` does; the symmetric taps are paired the way scipy's correlate1d pairs
    /// them. Requires both sides to exceed the radius, which the 11x11 minimum guarantees.
    private static func gaussianFilter(_ src: [Double], _ dst: inout [Double], _ tmp: inout [Double],
                                       h: Int, w: Int, kernel: [Double]) {
        let r = ssimRadius
        func reflect(_ i: Int, _ n: Int) -> Int { i < 0 ? -i - 1 : (i >= n ? 2 * n - i - 1 : i) }
        for row in 0..<h {
            for col in 0..<w {
                var acc = src[row * w + col] * kernel[r]
                for k in 1...r {
                    acc += (src[reflect(row - k, h) * w + col] + src[reflect(row + k, h) * w + col]) * kernel[r + k]
                }
                tmp[row * w + col] = acc
            }
        }
        for row in 0..<h {
            let base = row * w
            for col in 0..<w {
                var acc = tmp[base + col] * kernel[r]
                for k in 1...r {
                    acc += (tmp[base + reflect(col - k, w)] + tmp[base + reflect(col + k, w)]) * kernel[r + k]
                }
                dst[base + col] = acc
            }
        }
    }
}
