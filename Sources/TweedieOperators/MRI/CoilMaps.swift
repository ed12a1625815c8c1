import TweedieCore
#if canImport(Glibc)
import Glibc
#endif

/// Coil sensitivity maps for multi-coil MRI: a complex buffer [C, H, W].
public enum CoilMaps {
    /// Smooth synthetic birdcage maps (the formula of sigpy's `mri.birdcage_maps`, radius 1.5): coil c sits at
    /// angle 2πc/C on a circle of radius 1.5 (image half-widths) around the centre, and its map is
    /// e^{i(φ − 2πc/C)} / d, with d the distance from the coil and φ = atan2(x − x_c, −(y − y_c)); the maps are then
    /// divided by their root sum of squares, so Σ_c |S_c|² = 1 at every pixel.
    public static func birdcage(coils: Int, height h: Int, width w: Int, radius: Double = 1.5) -> Buffer {
        precondition(coils >= 1, "CoilMaps.birdcage: need at least one coil")
        var out = Buffer(shape: [coils, h, w], isComplex: true)
        for c in 0..<coils {
            let angle = Double(c) * (2 * Double.pi / Double(coils))
            let (coilX, coilY, phase) = (radius * cos(angle), radius * sin(angle), -angle)
            for i in 0..<h {
                for j in 0..<w {
                    let x = (Double(j) - Double(w) / 2) / (Double(w) / 2) - coilX
                    let y = (Double(i) - Double(h) / 2) / (Double(h) / 2) - coilY
                    let r = (x * x + y * y).squareRoot(), phi = atan2(x, -y) + phase
                    let k = (c * h + i) * w + j
                    out.data[2 * k] = Float(cos(phi) / r)
                    out.data[2 * k + 1] = Float(sin(phi) / r)
                }
            }
        }
        return normalized(out)
    }

    /// The maps divided by √(Σ_c |S_c|²) at every pixel where that sum is positive (pixels no coil sees stay 0).
    public static func normalized(_ maps: Buffer) -> Buffer {
        precondition(maps.isComplex && maps.shape.count == 3, "CoilMaps.normalized: need complex [C, H, W]")
        let (coils, n) = (maps.shape[0], maps.shape[1] * maps.shape[2])
        var out = maps
        for i in 0..<n {
            var s = 0.0
            for c in 0..<coils {
                let k = c * n + i
                s += Double(maps.data[2 * k]) * Double(maps.data[2 * k]) + Double(maps.data[2 * k + 1]) * Double(maps.data[2 * k + 1])
            }
            guard s > 0 else { continue }
            let inv = Float(1 / s.squareRoot())
            for c in 0..<coils {
                let k = c * n + i
                out.data[2 * k] *= inv
                out.data[2 * k + 1] *= inv
            }
        }
        return out
    }

    /// Checks maps read from a file: complex [C, H, W] with the image size, finite. Throws naming `field`.
    public static func validate(_ maps: Buffer, height: Int, width: Int, field: String) throws {
        guard maps.isComplex, maps.shape.count == 3, maps.shape[0] >= 1,
              maps.shape[1] == height, maps.shape[2] == width else {
            throw TweedieError.badInput("\(field): coil maps must be [C, \(height), \(width)], got \(maps.shape)")
        }
        guard maps.data.allSatisfy(\.isFinite) else { throw TweedieError.badInput("\(field): non-finite values") }
    }
}
