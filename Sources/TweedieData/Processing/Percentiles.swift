/// Exact percentiles of large arrays in linear time, with numpy's default ("linear") interpolation:
/// for q in [0, 100], rank r = q/100 * (n - 1) and the value is `a[floor r] + frac(r) * (a[floor r + 1] - a[floor r])`
/// over the sorted data. NaNs are ignored.
public enum Percentiles {
    private static let bins = 1 << 16

    /// The `qs` percentiles (each in 0...100) of `values`; nil when `values` has no non-NaN element.
    public static func of(_ values: UnsafeBufferPointer<Float>, _ qs: [Double]) -> [Float]? {
        guard let p = values.baseAddress else { return nil }
        let total = values.count
        var lo = Float.infinity, hi = -Float.infinity, n = 0
        var i = 0
        while i < total {
            let v = p[i]
            if v == v {  // not NaN
                if v < lo { lo = v }
                if v > hi { hi = v }
                n += 1
            }
            i += 1
        }
        guard n > 0 else { return nil }
        if lo == hi { return qs.map { _ in lo } }
        // Histogram the values, then sort only the bins holding the wanted ranks: O(n) for any data. The bin
        // index is monotonic in the value (rounding is monotonic), which is all exactness needs.
        let scale = Float(bins) / (hi - lo)
        let last = bins - 1
        var counts = [Int](repeating: 0, count: bins)
        counts.withUnsafeMutableBufferPointer { c in
            var i = 0
            while i < total {
                let v = p[i]
                if v == v { c[min(Int((v - lo) * scale), last)] += 1 }
                i += 1
            }
        }
        var starts = [Int](repeating: 0, count: bins)
        for b in 1..<bins { starts[b] = starts[b - 1] + counts[b - 1] }
        func binOf(rank k: Int) -> Int {
            var b = 0, top = last
            while b < top {  // last bin whose start <= k
                let mid = (b + top + 1) / 2
                if starts[mid] <= k { b = mid } else { top = mid - 1 }
            }
            return b
        }
        let ranks = qs.map { q -> (Int, Double) in
            precondition((0...100).contains(q), "Percentiles: \(q) outside 0...100")
            let r = q / 100 * Double(n - 1)
            return (Int(r.rounded(.down)), r - r.rounded(.down))
        }
        // Slot of each bin holding a wanted rank (-1: not needed), then gather and sort only those bins.
        var slot = [Int](repeating: -1, count: bins)
        var slotBins: [Int] = []
        for (k, _) in ranks {
            for b in [binOf(rank: k), binOf(rank: min(k + 1, n - 1))] where slot[b] < 0 {
                slot[b] = slotBins.count
                slotBins.append(b)
            }
        }
        var members = slotBins.map { b -> [Float] in
            var a: [Float] = []
            a.reserveCapacity(counts[b])
            return a
        }
        slot.withUnsafeBufferPointer { s in
            var i = 0
            while i < total {
                let v = p[i]
                if v == v {
                    let k = s[min(Int((v - lo) * scale), last)]
                    if k >= 0 { members[k].append(v) }
                }
                i += 1
            }
        }
        for k in members.indices { members[k].sort() }
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
