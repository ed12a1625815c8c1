import TweedieCore
#if canImport(Glibc)
import Glibc
#endif

extension SamplingMask {
    /// Density growth of the variable-density Poisson disc: the exclusion radius at normalised k-space radius ρ
    /// (ρ = 1 at the edge midpoints) is r₀ (1 + α ρ).
    static let poissonDensityGrowth = 1.0

    /// A 2-D variable-density Poisson-disc mask with exactly H·W/R samples. The ACS square (⌊H·cf⌋ x ⌊W·cf⌋
    /// central points) is sampled and blocks its neighbours; the other grid points are visited once in a uniform
    /// random order, and a point is accepted when no accepted point lies closer than r(p) = r₀ (1 + α ρ(p)) (random
    /// sequential addition, a grid version of dart throwing). r₀ is found by bisection as the largest radius whose
    /// run accepts at least the target count, and that run's first accepted points (in visiting order, which is
    /// spatially random) make up the total.
    static func poissonDisc(height h: Int, width w: Int, acceleration: Int, centerFraction: Double,
                            rng: inout SplitMix64) throws -> [Float] {
        guard (h * w) % acceleration == 0 else {
            throw TweedieError.badInput("--acceleration \(acceleration) does not divide the \(h)x\(w) = \(h * w) "
                                        + "k-space points: the acceleration would not be exact")
        }
        let total = h * w / acceleration
        let lowH = Int(Double(h) * centerFraction), lowW = Int(Double(w) * centerFraction)
        guard total >= lowH * lowW, total >= 1 else {
            throw TweedieError.badInput("--acceleration \(acceleration) keeps \(total) of \(h * w) points, fewer "
                                        + "than the \(lowH)x\(lowW) ACS block")
        }
        var acs: [Int] = []
        let (sy, sx) = (acsStart(size: h, lines: lowH), acsStart(size: w, lines: lowW))
        for i in sy..<(sy + lowH) { for j in sx..<(sx + lowW) { acs.append(i * w + j) } }
        let isACS = Set(acs)
        var order = (0..<(h * w)).filter { !isACS.contains($0) }
        for k in 0..<(order.count - 1) {
            let j = k + rng.index(below: order.count - k)
            order.swapAt(k, j)
        }
        let need = total - acs.count
        let (cy, cx) = (Double(h / 2), Double(w / 2))
        // Squared-radius factor (1 + α ρ)² per point, computed once.
        var growth = [Double](repeating: 0, count: h * w)
        for i in 0..<h {
            for j in 0..<w {
                let dy = (Double(i) - cy) / (Double(h) / 2), dx = (Double(j) - cx) / (Double(w) / 2)
                let g = 1 + poissonDensityGrowth * (dy * dy + dx * dx).squareRoot()
                growth[i * w + j] = g * g
            }
        }
        // One run of random sequential addition at radius r0; stops once `limit` points are accepted.
        func run(_ r0: Double, limit: Int) -> [Int] {
            var ys = acs.map { Double($0 / w) }, xs = acs.map { Double($0 % w) }
            var accepted: [Int] = []
            let r2 = r0 * r0
            for p in order {
                let (py, px) = (Double(p / w), Double(p % w))
                let reach = r2 * growth[p]
                var free = true
                for q in 0..<ys.count {
                    let dy = ys[q] - py, dx = xs[q] - px
                    if dy * dy + dx * dx < reach { free = false; break }
                }
                if free {
                    accepted.append(p)
                    ys.append(py)
                    xs.append(px)
                    if accepted.count >= limit { break }
                }
            }
            return accepted
        }
        var (lo, hi) = (0.4, Double(max(h, w)))  // at 0.4 no two grid points exclude each other
        for _ in 0..<30 {
            let mid = (lo + hi) / 2
            if run(mid, limit: need).count >= need { lo = mid } else { hi = mid }
        }
        var mask = [Float](repeating: 0, count: h * w)
        for p in acs { mask[p] = 1 }
        for p in run(lo, limit: need) { mask[p] = 1 }
        return mask
    }
}
