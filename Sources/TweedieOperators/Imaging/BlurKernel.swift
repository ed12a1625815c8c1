import TweedieCore
#if canImport(Glibc)
import Glibc
#endif

/// Point-spread functions for `BlurOperator`: an odd-sized [size, size] kernel that sums to 1, centre at
/// (size/2, size/2).
public struct BlurKernel: Equatable, Sendable {
    /// Side (odd).
    public let size: Int
    /// Row-major weights, summing to 1.
    public let weights: [Float]

    /// A kernel from its weights (size² of them, odd size).
    public init(size: Int, weights: [Float]) {
        precondition(size % 2 == 1 && weights.count == size * size, "BlurKernel: need an odd square kernel")
        self.size = size
        self.weights = weights
    }

    /// Isotropic Gaussian exp(−(i² + j²)/(2σ²)), normalised; size 2⌈3σ⌉ + 1 unless given.
    public static func gaussian(sigma: Double, size: Int? = nil) -> BlurKernel {
        let n = size ?? 2 * Int((3 * sigma).rounded(.up)) + 1, c = n / 2
        var w = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                let (di, dj) = (Double(i - c), Double(j - c))
                w[i * n + j] = exp(-(di * di + dj * dj) / (2 * sigma * sigma))
            }
        }
        return normalized(size: n, w)
    }

    /// Linear motion of `length` pixels at `angleDegrees` (counter-clockwise from the x axis, y up): 4⌈length⌉ + 1
    /// points evenly spaced on the centred segment, each splatted bilinearly, normalised; size 2⌈length/2⌉ + 1.
    public static func motion(length: Double, angleDegrees: Double) -> BlurKernel {
        let half = Int((length / 2).rounded(.up)), n = 2 * half + 1, c = Double(half)
        let points = 4 * Int(length.rounded(.up)) + 1
        let (cs, sn) = (cos(angleDegrees * Double.pi / 180), sin(angleDegrees * Double.pi / 180))
        var w = [Double](repeating: 0, count: n * n)
        for k in 0..<points {
            let t = -length / 2 + length * Double(k) / Double(points - 1)
            let (y, x) = (c - t * sn, c + t * cs)
            let (y0, x0) = (y.rounded(.down), x.rounded(.down))
            let (dy, dx) = (y - y0, x - x0)
            for (yy, wy) in [(Int(y0), 1 - dy), (Int(y0) + 1, dy)] {
                for (xx, wx) in [(Int(x0), 1 - dx), (Int(x0) + 1, dx)] where yy >= 0 && yy < n && xx >= 0 && xx < n {
                    w[yy * n + xx] += wy * wx
                }
            }
        }
        return normalized(size: n, w)
    }

    private static func normalized(size: Int, _ w: [Double]) -> BlurKernel {
        let total = w.reduce(0, +)
        return BlurKernel(size: size, weights: w.map { Float($0 / total) })
    }

    /// Parses `gaussian:SIGMA[:SIZE]` or `motion:LENGTH[:ANGLE]` (angle in degrees, default 0); errors name `--kernel`.
    public static func parse(_ spec: String) throws -> BlurKernel {
        let parts = spec.split(separator: ":").map(String.init)
        let numbers = parts.dropFirst().map { Double($0) }
        guard let kind = parts.first, !numbers.isEmpty, numbers.allSatisfy({ $0 != nil && $0!.isFinite }) else {
            throw TweedieError.badInput("--kernel \(spec): expected gaussian:SIGMA[:SIZE] or motion:LENGTH[:ANGLE]")
        }
        let v = numbers.map { $0! }
        switch kind {
        case "gaussian" where v.count <= 2 && v[0] > 0:
            if v.count == 2 {
                guard v[1] >= 1, v[1] == v[1].rounded(), Int(v[1]) % 2 == 1 else {
                    throw TweedieError.badInput("--kernel \(spec): the size must be an odd whole number")
                }
                return gaussian(sigma: v[0], size: Int(v[1]))
            }
            return gaussian(sigma: v[0])
        case "motion" where v.count <= 2 && v[0] > 0:
            return motion(length: v[0], angleDegrees: v.count == 2 ? v[1] : 0)
        default:
            throw TweedieError.badInput("--kernel \(spec): expected gaussian:SIGMA[:SIZE] or motion:LENGTH[:ANGLE] "
                                        + "with positive SIGMA/LENGTH")
        }
    }
}
