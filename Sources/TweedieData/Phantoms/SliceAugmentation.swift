import Foundation
import TweedieCore

/// A random similarity transform of a square grey image (flip, small rotation, scale and shift), applied by
/// bilinear resampling with zero fill: it turns a few dozen brain slices into a varied training stream.
public struct SliceAugmentation: Equatable, Sendable {
    /// Mirror left-right before the rest.
    public var flip: Bool
    /// Rotation in degrees (clockwise as displayed, rows running down).
    public var degrees: Double
    /// Zoom factor (> 1 enlarges).
    public var scale: Double
    /// Shift in pixels (x to the right, y down).
    public var shiftX: Double, shiftY: Double

    /// The identity.
    public static let identity = SliceAugmentation(flip: false, degrees: 0, scale: 1, shiftX: 0, shiftY: 0)

    public init(flip: Bool, degrees: Double, scale: Double, shiftX: Double, shiftY: Double) {
        self.flip = flip
        self.degrees = degrees
        self.scale = scale
        self.shiftX = shiftX
        self.shiftY = shiftY
    }

    /// The transform of draw `index` under `seed`: flip with probability 1/2, rotation uniform in ±`maxDegrees`,
    /// scale uniform in 1 ± `maxScale`, shifts uniform in ±`maxShift` pixels (uniforms 8·index + 0...4).
    public static func random(seed: UInt64, index: Int, maxDegrees: Double = 10, maxScale: Double = 0.08,
                              maxShift: Double = 3) -> SliceAugmentation {
        func u(_ k: Int) -> Double { Double(CounterRandom.uniform(seed: seed, index: 8 * index + k)) }
        return SliceAugmentation(flip: u(0) < 0.5, degrees: (2 * u(1) - 1) * maxDegrees,
                                 scale: 1 + (2 * u(2) - 1) * maxScale,
                                 shiftX: (2 * u(3) - 1) * maxShift, shiftY: (2 * u(4) - 1) * maxShift)
    }

    /// Writes the transformed `side` x `side` image `src` into `dst` (inverse mapping about the image centre).
    public func apply(_ src: UnsafePointer<Float>, side: Int, into dst: UnsafeMutablePointer<Float>) {
        let c = Double(side - 1) / 2
        let angle = degrees * Double.pi / 180
        // Output pixel -> source pixel: undo the shift, the rotation and the scale, then the flip.
        let cosA = cos(angle) / scale, sinA = sin(angle) / scale
        for r in 0..<side {
            let dy = Double(r) - c - shiftY
            for col in 0..<side {
                let dx = Double(col) - c - shiftX
                var sx = cosA * dx + sinA * dy + c
                let sy = -sinA * dx + cosA * dy + c
                if flip { sx = Double(side - 1) - sx }
                dst[r * side + col] = Float(SliceAugmentation.bilinear(src, side: side, x: sx, y: sy))
            }
        }
    }

    /// Bilinear sample at (x, y) in pixel coordinates, zero outside the image.
    static func bilinear(_ src: UnsafePointer<Float>, side: Int, x: Double, y: Double) -> Double {
        let x0 = Int(floor(x)), y0 = Int(floor(y))
        let fx = x - Double(x0), fy = y - Double(y0)
        func at(_ yy: Int, _ xx: Int) -> Double {
            (yy >= 0 && yy < side && xx >= 0 && xx < side) ? Double(src[yy * side + xx]) : 0
        }
        let top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
        let bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
        return top * (1 - fy) + bottom * fy
    }
}
