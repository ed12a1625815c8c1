import Foundation
import TweedieCore

/// One ellipse of an additive phantom, in the normalised image square [-1, 1]^2 (x to the right, y up).
public struct Ellipse: Equatable, Sendable {
    /// Value added inside the ellipse.
    public var intensity: Double
    /// Semi-axis along the ellipse's own x direction.
    public var semiAxisX: Double
    /// Semi-axis along the ellipse's own y direction.
    public var semiAxisY: Double
    /// Centre.
    public var centreX: Double
    public var centreY: Double
    /// Counter-clockwise rotation of the ellipse's x axis from the image x axis, in degrees.
    public var angleDegrees: Double

    public init(intensity: Double, semiAxisX: Double, semiAxisY: Double, centreX: Double, centreY: Double,
                angleDegrees: Double) {
        self.intensity = intensity
        self.semiAxisX = semiAxisX
        self.semiAxisY = semiAxisY
        self.centreX = centreX
        self.centreY = centreY
        self.angleDegrees = angleDegrees
    }

    /// Whether (x, y) lies inside or on the ellipse.
    @inlinable public func contains(x: Double, y: Double) -> Bool {
        let t = angleDegrees * .pi / 180
        let c = cos(t), s = sin(t)
        let dx = x - centreX, dy = y - centreY
        let u = (dx * c + dy * s) / semiAxisX, v = (-dx * s + dy * c) / semiAxisY
        return u * u + v * v <= 1
    }
}

/// Where a raster's samples fall in [-1, 1].
public enum PhantomSampling: Sendable {
    /// Pixel centres of an n-pixel grid covering [-1, 1]: coordinate `-1 + (2j + 1) / n`.
    case pixelCentres
    /// `n` points from -1 to +1 inclusive, `-1 + 2j / (n - 1)` (MATLAB's `phantom` and scikit-image's stored image).
    case gridEndpoints

    func coordinate(_ j: Int, of n: Int) -> Double {
        switch self {
        case .pixelCentres: return -1 + Double(2 * j + 1) / Double(n)
        case .gridEndpoints: return n == 1 ? 0 : -1 + 2 * Double(j) / Double(n - 1)
        }
    }
}

/// Rasterises additive ellipse phantoms: each sample is the sum (in Float64) of the intensities of the ellipses that
/// contain it. Row 0 is the top of the image (y = +1), column 0 the left (x = -1), as image viewers show it.
public enum EllipsePhantom {
    /// An [1, 1, height, width] image of `ellipses`, optionally clipped to `clip`.
    public static func image(_ ellipses: [Ellipse], height: Int, width: Int, sampling: PhantomSampling = .pixelCentres,
                             clip: ClosedRange<Double>? = nil) -> Tensor {
        Tensor(shape: [1, 1, height, width]) { out in
            render(ellipses, height: height, width: width, sampling: sampling, clip: clip, into: out.baseAddress!)
        }
    }

    /// Writes the raster of `ellipses` into `out` (height * width Floats).
    public static func render(_ ellipses: [Ellipse], height: Int, width: Int, sampling: PhantomSampling,
                              clip: ClosedRange<Double>?, into out: UnsafeMutablePointer<Float>) {
        let acc = UnsafeMutablePointer<Double>.allocate(capacity: height * width)
        defer { acc.deallocate() }
        acc.initialize(repeating: 0, count: height * width)
        let xs = (0..<width).map { sampling.coordinate($0, of: width) }
        let ys = (0..<height).map { -sampling.coordinate($0, of: height) }
        for e in ellipses {
            let t = e.angleDegrees * .pi / 180
            let c = cos(t), s = sin(t)
            // Rows the ellipse can touch: its vertical half-extent is sqrt((a sin)^2 + (b cos)^2).
            let half = ((e.semiAxisX * s) * (e.semiAxisX * s) + (e.semiAxisY * c) * (e.semiAxisY * c)).squareRoot()
            for row in 0..<height where abs(ys[row] - e.centreY) <= half + 1e-9 {
                let dy = ys[row] - e.centreY
                for col in 0..<width {
                    let dx = xs[col] - e.centreX
                    let u = (dx * c + dy * s) / e.semiAxisX, v = (-dx * s + dy * c) / e.semiAxisY
                    if u * u + v * v <= 1 { acc[row * width + col] += e.intensity }
                }
            }
        }
        for i in 0..<height * width {
            var v = acc[i]
            if let clip { v = min(max(v, clip.lowerBound), clip.upperBound) }
            out[i] = Float(v)
        }
    }
}
