import TweedieCore
#if canImport(Glibc)
import Glibc
#endif

/// Sparse-view parallel-beam CT with a matched projector and back-projector. The projector is
/// `skimage.transform.radon(image, theta, circle=False)`: the image is zero-padded (centred as skimage pads it) to
/// a P x P square, P = ⌈√2 · max(H, W)⌉, rotated about pixel (P/2, P/2) by bilinear interpolation (skimage
/// `warp`, order 1, zero outside) and summed along rows, giving a sinogram [P detectors, views]. The
/// back-projector scatters every detector value along the same rays with the same four bilinear weights, so it is
/// the exact transpose (no filter, no scale).
///
/// DDS's CT code uses an approximate adjoint, the unfiltered back-projection times π/(2·views) (measured ratio
/// 0.181 at 8 views against π/16 = 0.196). CG is invariant to scaling the whole system, but not the split between
/// the identity and γAᵀA, so reproducing that code with this exact adjoint needs γ_eff = γ · π / (2 · views)
/// (`officialGammaScale`).
public struct ParallelBeamCT: LinearOperator {
    /// Image rows and columns.
    public let height: Int, width: Int
    /// Projection angles in degrees.
    public let anglesDegrees: [Double]
    /// Side of the padded square and number of detector bins.
    public let detectors: Int
    private let padTop: Int, padLeft: Int
    private let cosines: [Double], sines: [Double]

    /// `views` angles evenly spread over [0°, 180°) (numpy linspace(0, 180, views, endpoint=False), as DDS).
    public init(height: Int, width: Int, views: Int) throws {
        guard views >= 1 else { throw TweedieError.badInput("--views: must be at least 1, got \(views)") }
        try self.init(height: height, width: width,
                      anglesDegrees: (0..<views).map { 180 * Double($0) / Double(views) })
    }

    /// A projector at the given angles (degrees).
    public init(height: Int, width: Int, anglesDegrees: [Double]) throws {
        guard !anglesDegrees.isEmpty else { throw TweedieError.badInput("--views: need at least one angle") }
        guard height > 0, width > 0 else { throw TweedieError.badInput("CT: empty image \(height)x\(width)") }
        self.height = height
        self.width = width
        self.anglesDegrees = anglesDegrees
        // skimage: pad = ceil(diagonal - s) per axis, pad_before = (s + pad) // 2 - s // 2.
        let diagonal = 2.0.squareRoot() * Double(max(height, width))
        let padH = Int((diagonal - Double(height)).rounded(.up)), padW = Int((diagonal - Double(width)).rounded(.up))
        precondition(height + padH == width + padW, "ParallelBeamCT: padded image is not square")
        detectors = height + padH
        padTop = (height + padH) / 2 - height / 2
        padLeft = (width + padW) / 2 - width / 2
        cosines = anglesDegrees.map { cos($0 * Double.pi / 180) }
        sines = anglesDegrees.map { sin($0 * Double.pi / 180) }
    }

    /// Number of views.
    public var views: Int { anglesDegrees.count }
    /// The factor π / (2 · views) that turns γ for DDS's scaled CT adjoint into γ for this exact one.
    public var officialGammaScale: Double { Double.pi / (2 * Double(views)) }

    public var domainShape: [Int] { [height, width] }
    public var domainIsComplex: Bool { false }
    public var rangeShape: [Int] { [detectors, views] }
    public var rangeIsComplex: Bool { false }

    /// Calls `body(detector, pixel, weight)` for every image pixel a ray sample of view `a` reads, with skimage
    /// warp's bilinear weights: sample (row r, column c) of the rotated padded image reads the padded image at
    /// (y, x) = (−s·c + cos·r − m(cos − s − 1), cos·c + s·r − m(cos + s − 1)), m = P / 2.
    @inline(__always)
    private func forEachWeight(view a: Int, _ body: (Int, Int, Double) -> Void) {
        let (cs, sn, m, p) = (cosines[a], sines[a], Double(detectors / 2), detectors)
        let shiftX = -m * (cs + sn - 1), shiftY = -m * (cs - sn - 1)
        for c in 0..<p {
            for r in 0..<p {
                let x = cs * Double(c) + sn * Double(r) + shiftX
                let y = -sn * Double(c) + cs * Double(r) + shiftY
                let (y0, x0) = (y.rounded(.down), x.rounded(.down))
                let (dy, dx) = (y - y0, x - x0)
                let (top, left) = (Int(y0) - padTop, Int(x0) - padLeft)
                let (bottom, right) = (Int(y.rounded(.up)) - padTop, Int(x.rounded(.up)) - padLeft)
                if bottom < 0 || top >= height || right < 0 || left >= width { continue }
                if top >= 0 {
                    if left >= 0 { body(c, top * width + left, (1 - dy) * (1 - dx)) }
                    if right < width { body(c, top * width + right, (1 - dy) * dx) }
                }
                if bottom < height {
                    if left >= 0 { body(c, bottom * width + left, dy * (1 - dx)) }
                    if right < width { body(c, bottom * width + right, dy * dx) }
                }
            }
        }
    }

    public func apply(_ x: Buffer) -> Buffer {
        checkDomain(x, "ParallelBeamCT")
        var y = zeroRange()
        let nv = views
        y.data.withUnsafeMutableBufferPointer { out in
            let o = out
            x.data.withUnsafeBufferPointer { img in
                parallelFor(nv) { a in
                    var column = [Double](repeating: 0, count: detectors)
                    forEachWeight(view: a) { d, pixel, w in column[d] += w * Double(img[pixel]) }
                    for d in 0..<detectors { o[d * nv + a] = Float(column[d]) }
                }
            }
        }
        return y
    }

    public func adjoint(_ y: Buffer) -> Buffer {
        checkRange(y, "ParallelBeamCT")
        let nv = views, n = height * width
        let workers = max(1, min(Runtime.threads, nv))
        var partial = [Double](repeating: 0, count: workers * n)
        partial.withUnsafeMutableBufferPointer { acc in
            let accumulators = acc
            y.data.withUnsafeBufferPointer { sino in
                parallelFor(workers) { wk in
                    let mine = accumulators.baseAddress! + wk * n
                    for a in (nv * wk / workers)..<(nv * (wk + 1) / workers) {
                        forEachWeight(view: a) { d, pixel, w in mine[pixel] += w * Double(sino[d * nv + a]) }
                    }
                }
            }
        }
        var x = zeroDomain()
        for i in 0..<n {
            var s = 0.0
            for wk in 0..<workers { s += partial[wk * n + i] }
            x.data[i] = Float(s)
        }
        return x
    }
}
