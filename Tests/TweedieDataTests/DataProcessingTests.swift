import TweedieCore
import TweedieData
import XCTest

final class DataProcessingTests: XCTestCase {
    /// numpy's default percentile over a sorted copy, the definition `Percentiles` must reproduce.
    private func reference(_ values: [Float], _ q: Double) -> Float {
        let s = values.sorted()
        let r = q / 100 * Double(s.count - 1)
        let k = Int(r.rounded(.down))
        guard k + 1 < s.count else { return s[k] }
        return Float(Double(s[k]) + (r - Double(k)) * (Double(s[k + 1]) - Double(s[k])))
    }

    func testPercentilesMatchTheSortedDefinition() {
        var state: UInt32 = 99
        let values: [Float] = (0..<20000).map { i in
            state = state &* 1_664_525 &+ 1_013_904_223
            // Heavy ties at 0 plus a spread tail, as in a brain volume.
            return i % 3 == 0 ? 0 : Float(state >> 8) / 65536
        }
        let qs = [0, 0.5, 25, 50, 99.5, 100]
        let got = values.withUnsafeBufferPointer { Percentiles.of($0, qs) }!
        for (q, v) in zip(qs, got) { XCTAssertEqual(v, reference(values, q), "q \(q)") }
        XCTAssertEqual([Float(3), 3].withUnsafeBufferPointer { Percentiles.of($0, [10]) }, [3])
        XCTAssertNil([Float.nan].withUnsafeBufferPointer { Percentiles.of($0, [10]) })
    }

    func testAreaResizeAveragesCoveredAreas() {
        let src: [Float] = (0..<16).map(Float.init)  // 4x4
        var out = [Float](repeating: 0, count: 4)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { AreaResize.resize(s.baseAddress!, height: 4, width: 4, into: $0.baseAddress!,
                                                                    outHeight: 2, outWidth: 2) }
        }
        XCTAssertEqual(out, [2.5, 4.5, 10.5, 12.5])
        // 3 -> 2 uses fractional weights: [a, b, c] -> [(a + b/2) / 1.5, (b/2 + c) / 1.5].
        var row = [Float](repeating: 0, count: 2)
        [Float(3), 6, 9].withUnsafeBufferPointer { s in
            row.withUnsafeMutableBufferPointer { AreaResize.resize(s.baseAddress!, height: 1, width: 3, into: $0.baseAddress!,
                                                                    outHeight: 1, outWidth: 2) }
        }
        XCTAssertEqual(row[0], 4, accuracy: 1e-6)
        XCTAssertEqual(row[1], 8, accuracy: 1e-6)
    }
}
