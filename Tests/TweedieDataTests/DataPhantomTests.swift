import TweedieCore
import TweedieData
import XCTest

final class DataPhantomTests: XCTestCase {
    private func expand(_ runs: [(Double, Int)]) -> [Double] { runs.flatMap { Array(repeating: $0.0, count: $0.1) } }

    /// scikit-image's stored phantom was rasterised on MATLAB's endpoint grid: `.gridEndpoints` at 400x400 must
    /// reproduce it pixel for pixel (to its 8-bit quantisation) along the fixture rows and columns, which cross
    /// every ellipse including the three small ones at y = -0.605.
    func testSheppLoganMatchesScikitImage() {
        let p = SheppLogan.image(height: 400, width: 400, sampling: .gridEndpoints)
        XCTAssertEqual(p.shape, [1, 1, 400, 400])
        for (row, runs) in DataFixtures.sheppLoganRows {
            let ref = expand(runs)
            XCTAssertEqual(ref.count, 400)
            for c in 0..<400 { XCTAssertEqual(Double(p.data[row * 400 + c]), ref[c], accuracy: 0.005, "(\(row), \(c))") }
        }
        for (col, runs) in DataFixtures.sheppLoganColumns {
            let ref = expand(runs)
            for r in 0..<400 { XCTAssertEqual(Double(p.data[r * 400 + col]), ref[r], accuracy: 0.005, "(\(r), \(col))") }
        }
    }

    /// Analytic values of the modified phantom at region interiors (intensities summed by hand from the table).
    func testSheppLoganAnalyticValues() {
        let cases: [(Double, Double, Double)] = [
            (0, 0, 0.2), (0, 0.9, 1.0), (0.95, 0, 0), (0.22, 0, 0), (-0.22, 0, 0), (0, 0.35, 0.3), (0, 0.12, 0.4),
            (0, -0.1, 0.3), (0, -0.606, 0.3), (-0.08, -0.605, 0.3), (0.06, -0.605, 0.3), (0, -0.5, 0.2),
        ]
        for (x, y, v) in cases { XCTAssertEqual(SheppLogan.value(x: x, y: y), v, accuracy: 1e-12, "(\(x), \(y))") }
        // Pixel-centre sampling at odd size puts a sample exactly on the centre; it differs from the endpoint grid
        // only along edges.
        let centre = SheppLogan.image(height: 101, width: 101)
        XCTAssertEqual(centre.data[50 * 101 + 50], 0.2, accuracy: 1e-6)
        let a = SheppLogan.image(height: 400, width: 400), b = SheppLogan.image(height: 400, width: 400,
                                                                                 sampling: .gridEndpoints)
        let differing = zip(a.data, b.data).filter { abs($0 - $1) > 0.01 }.count
        XCTAssertGreaterThan(differing, 0)
        XCTAssertLessThan(differing, 400 * 400 / 100)
    }

    func testRandomEllipsesAreDeterministicPerIndex() {
        let a = RandomEllipses.images(count: 4, height: 32, width: 48, seed: 11)
        XCTAssertEqual(a, RandomEllipses.images(count: 4, height: 32, width: 48, seed: 11))
        XCTAssertEqual(a.shape, [4, 1, 32, 48])
        let third = RandomEllipses.images(count: 1, height: 32, width: 48, seed: 11, startIndex: 2)
        XCTAssertEqual(third.data, Array(a.data[(2 * 32 * 48)..<(3 * 32 * 48)]))
        XCTAssertNotEqual(a, RandomEllipses.images(count: 4, height: 32, width: 48, seed: 12))
        XCTAssertTrue(a.data.allSatisfy { $0 >= 0 && $0 <= 1 })
        for n in 0..<4 {
            let image = a.data[(n * 1536)..<((n + 1) * 1536)]
            XCTAssertGreaterThan(Set(image).count, 1, "phantom \(n) is blank")
        }
    }

    func testRandomEllipseParametersStayInTheirRanges() {
        let sets = (0..<300).map { RandomEllipses.ellipses(seed: 5, index: $0) }
        XCTAssertEqual(sets.map(\.count).min(), 3)
        XCTAssertEqual(sets.map(\.count).max(), 10)
        let all = sets.flatMap { $0 }
        XCTAssertTrue(all.allSatisfy { (0.1...0.7).contains(abs($0.intensity)) })
        XCTAssertTrue(all.allSatisfy { (0.05...0.5).contains($0.semiAxisX) && (0.05...0.5).contains($0.semiAxisY) })
        XCTAssertTrue(all.allSatisfy { abs($0.centreX) <= 0.6 && abs($0.centreY) <= 0.6 })
        let negative = Double(all.filter { $0.intensity < 0 }.count) / Double(all.count)
        XCTAssertEqual(negative, 0.25, accuracy: 0.05)
        XCTAssertEqual(RandomEllipses.ellipses(seed: 5, index: 17), sets[17])
    }
}
