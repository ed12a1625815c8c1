#if canImport(Glibc)
import Glibc
#endif
import TweedieCore

/// Cartesian k-space sampling masks, [H, W] row-major with 1 where k-space is measured, in the centred layout of
/// `fft2c` (DC at (H/2, W/2)). Every mask hits its acceleration exactly: H·W/R samples for R = `acceleration`
/// (W/R whole columns for the 1-D masks), which must be a whole number; the fully sampled ACS block of
/// ⌊size · centerFraction⌋ central lines (DDS and fastMRI use 0.08) counts toward that total. Random choices come
/// from `SplitMix64(seed:)`, without replacement.
public enum SamplingMask {
    /// The mask families.
    public enum Kind: String, CaseIterable, Sendable {
        /// ACS columns plus columns drawn uniformly without replacement.
        case uniform1d
        /// ACS columns plus columns drawn without replacement with weights exp(−(j − W/2)² / (2 (W/6)²)).
        case gaussian1d
        /// A fully sampled ACS square plus variable-density Poisson-disc points (see `poissonDisc`).
        case poisson2d
    }

    /// The default ACS fraction (DDS `center_fraction`).
    public static let defaultCenterFraction = 0.08

    /// The mask of `kind` for an `height` x `width` image at acceleration `acceleration`.
    /// Throws `badInput` naming `--acceleration` when the acceleration does not fit the size.
    public static func make(_ kind: Kind, height: Int, width: Int, acceleration: Int,
                            centerFraction: Double = defaultCenterFraction, seed: UInt64) throws -> [Float] {
        guard height > 0, width > 0 else { throw TweedieError.badInput("mask: empty size \(height)x\(width)") }
        guard acceleration >= 1 else {
            throw TweedieError.badInput("--acceleration: must be at least 1, got \(acceleration)")
        }
        var rng = SplitMix64(seed: seed)
        switch kind {
        case .uniform1d, .gaussian1d:
            let columns = try columnMask(width: width, acceleration: acceleration, centerFraction: centerFraction,
                                         gaussian: kind == .gaussian1d, rng: &rng)
            return (0..<(height * width)).map { columns[$0 % width] }
        case .poisson2d:
            return try poissonDisc(height: height, width: width, acceleration: acceleration,
                                   centerFraction: centerFraction, rng: &rng)
        }
    }

    /// Index of the first of `n` central lines out of `size` (DDS/fastMRI: (size − n + 1) / 2).
    static func acsStart(size: Int, lines n: Int) -> Int { (size - n + 1) / 2 }

    /// One entry per column (1 sampled). W/R columns: the ACS block, then draws among the other columns.
    static func columnMask(width: Int, acceleration: Int, centerFraction: Double, gaussian: Bool,
                           rng: inout SplitMix64) throws -> [Float] {
        guard width % acceleration == 0 else {
            throw TweedieError.badInput("--acceleration \(acceleration) does not divide the width \(width): the "
                                        + "acceleration would not be exact")
        }
        let total = width / acceleration
        let low = Int(Double(width) * centerFraction)
        guard total >= low, total >= 1 else {
            throw TweedieError.badInput("--acceleration \(acceleration) keeps \(total) of \(width) columns, fewer "
                                        + "than the \(low)-column ACS block (center fraction \(centerFraction))")
        }
        var mask = [Float](repeating: 0, count: width)
        let start = acsStart(size: width, lines: low)
        for j in start..<(start + low) { mask[j] = 1 }
        var candidates = (0..<width).filter { mask[$0] == 0 }
        let draws = total - low
        if gaussian {
            let centre = Double(width / 2), s = Double(width) / 6
            var weights = candidates.map { j -> Double in
                let d = Double(j) - centre
                return exp(-d * d / (2 * s * s))
            }
            for _ in 0..<draws {
                var sum = 0.0
                for w in weights { sum += w }
                let target = rng.uniform() * sum
                var acc = 0.0, pick = weights.count - 1
                for (k, w) in weights.enumerated() {
                    acc += w
                    if target < acc { pick = k; break }
                }
                mask[candidates[pick]] = 1
                candidates.remove(at: pick)
                weights.remove(at: pick)
            }
        } else {
            // Partial Fisher-Yates: the first `draws` entries of a uniform shuffle.
            for k in 0..<draws {
                let j = k + rng.index(below: candidates.count - k)
                candidates.swapAt(k, j)
                mask[candidates[k]] = 1
            }
        }
        return mask
    }
}
