/// Exact percentiles of large arrays in linear time, with numpy's default ("linear") interpolation:
/// for q in [0, 100], rank r = q/100 * (n - 1) and the value is `a[floor r] + frac(r) * (a[floor r + 1] - a[floor r])`
/// over the sorted data. NaNs are ignored.
public enum Percentiles {
    private static let bins = 1 << 16

    /// The `qs` percentiles (each in 0...100) of `values`; nil when `values` has no non-NaN element.
    public static func of(_ values: UnsafeBufferPointer<Float>, _ qs: [Double]) -> [Float]? {
        var lo = Float.infinity, hi = -Float.infinity, n = 0
        for v in values where !v.isNaN {
            lo = min(lo, v)
            hi = max(hi, v)
            n += 1
        }
        guard n > 0 else { return nil }
        if lo == hi { return qs.map { _ in lo } }
        // Histogram the values, then sort only the few bins holding the wanted ranks: O(n) for any data.
        let scale = Double(bins) / (Double(hi) - Double(lo))
        @inline(__always) func bin(_ v: Float) -> Int { min(Int((Double(v) - Double(lo)) * scale), bins - 1) }
        var counts = [Int](repeating: 0, count: bins)
        for v in values where !v.isNaN { counts[bin(v)] += 1 }
        var starts = [Int](repeating: 0, count: bins)
        for b in 1..<bins { starts[b] = starts[b - 1] + counts[b - 1] }
        let ranks = qs.map { q -> (Int, Double) in
            precondition((0...100).contains(q), "Percentiles: \(q) outside 0...100")
            let r = q / 100 * Double(n - 1)
            return (Int(r.rounded(.down)), r - r.rounded(.down))
        }
        var wanted: Set<Int> = []
        for (k, _) in ranks { wanted.insert(k); wanted.insert(min(k + 1, n - 1)) }
        func binOf(rank k: Int) -> Int {
            var b = 0, hiB = bins - 1
            while b < hiB {  // last bin whose start <= k
                let mid = (b + hiB + 1) / 2
                if starts[mid] <= k { b = mid } else { hiB = mid - 1 }
            }
            return b
        }
        // Slot of each bin holding a wanted rank (-1: not needed), then gather and sort only those bins.
        var slot = [Int](repeating: -1, count: bins)
        var slotBins: [Int] = []
        for k in wanted.sorted() where slot[binOf(rank: k)] < 0 {
            slot[binOf(rank: k)] = slotBins.count
            slotBins.append(binOf(rank: k))
        }
        var members = slotBins.map { [Float](repeating: 0, count: 0).reserved(counts[$0]) }
        for v in values where !v.isNaN {
            let s = slot[bin(v)]
            if s >= 0 { members[s].append(v) }
        }
        for s in members.indices { members[s].sort() }
        func kth(_ k: Int) -> Float {
            let b = binOf(rank: k)
            return members[slot[b]][k - starts[b]]
        }
        return ranks.map { k, frac in
            let a = kth(k)
            guard frac > 0, k + 1 < n else { return a }
            return Float(Double(a) + frac * (Double(kth(k + 1)) - Double(a)))
        }
    }
}

private extension Array {
    func reserved(_ n: Int) -> Array {
        var a = self
        a.reserveCapacity(n)
        return a
    }
}
