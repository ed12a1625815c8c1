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
    /// data_range=dataRange)` on float64 data: K1 = 0.01, K2 = 0.03, population covariances, the SSIM map
    /// cropped by the 5-pixel window radius and averaged. The last two axes are H and W; every
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

    /// SSIM map of one plane averaged over the interior that the window fits in. Only that interior is
    /// filtered: its windows never reach past the plane, so skimage's 'reflect' border rule cannot affect the
    /// mean. The Gaussian is separable: first along H (as scipy's `gaussian_filter` does), then along W, with
    /// symmetric taps paired as scipy's `correlate1d` pairs them. Products are formed in Double, exactly as
    /// skimage's float64 `im1 * im1` arrays are.
    private static func planeSSIM(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, h: Int, w: Int,
                                  kernel: [Double], c1: Double, c2: Double) -> Double {
        let r = ssimRadius
        let rows = h - 2 * r, cols = w - 2 * r
        // Vertical pass into five [rows, w] moment maps: x, y, x², y², xy.
        let tmp = UnsafeMutableBufferPointer<Double>.allocate(capacity: 5 * rows * w)
        defer { tmp.deallocate() }
        let m = rows * w
        kernel.withUnsafeBufferPointer { k in
            for row in 0..<rows {
                let centre = (row + r) * w
                for col in 0..<w {
                    let xc = Double(x[centre + col]), yc = Double(y[centre + col])
                    var sx = xc * k[r], sy = yc * k[r], sxx = xc * xc * k[r], syy = yc * yc * k[r]
                    var sxy = xc * yc * k[r]
                    for j in 1...r {
                        let up = centre - j * w + col, down = centre + j * w + col
                        let (xu, xd, yu, yd) = (Double(x[up]), Double(x[down]), Double(y[up]), Double(y[down]))
                        let kj = k[r + j]
                        sx += (xu + xd) * kj
                        sy += (yu + yd) * kj
                        sxx += (xu * xu + xd * xd) * kj
                        syy += (yu * yu + yd * yd) * kj
                        sxy += (xu * yu + xd * yd) * kj
                    }
                    let o = row * w + col
                    tmp[o] = sx
                    tmp[m + o] = sy
                    tmp[2 * m + o] = sxx
                    tmp[3 * m + o] = syy
                    tmp[4 * m + o] = sxy
                }
            }
        }
        // Horizontal pass over the interior columns, folded straight into the SSIM formula.
        var sum = 0.0
        kernel.withUnsafeBufferPointer { k in
            for row in 0..<rows {
                for col in r..<(r + cols) {
                    let c = row * w + col
                    func filtered(_ map: Int) -> Double {
                        let base = map * m + c
                        var acc = tmp[base] * k[r]
                        for j in 1...r { acc += (tmp[base - j] + tmp[base + j]) * k[r + j] }
                        return acc
                    }
                    let (ux, uy, uxx, uyy, uxy) = (filtered(0), filtered(1), filtered(2), filtered(3), filtered(4))
                    let vx = uxx - ux * ux, vy = uyy - uy * uy, vxy = uxy - ux * uy
                    let a1 = 2 * ux * uy + c1, a2 = 2 * vxy + c2
                    let b1 = ux * ux + uy * uy + c1, b2 = vx + vy + c2
                    sum += (a1 * a2) / (b1 * b2)
                }
            }
        }
        return sum / Double(rows * cols)
    }
}
