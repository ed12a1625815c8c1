import XCTest
import TweedieCore
import TweedieTuning

/// The three truncations: which steps carry gradients, drawn reproducibly per trajectory.
final class TruncationTests: XCTestCase {
    func testParsingAndSpelling() throws {
        for text in ["last:1", "last:20", "full", "gaussian:42,5", "gaussian:16,2.5", "per-step"] {
            XCTAssertEqual(try Truncation(parsing: text).description, text)
        }
        for bad in ["last:0", "last", "gaussian:4", "gaussian:4,-1", "first:2", ""] {
            XCTAssertThrowsError(try Truncation(parsing: bad), bad)
        }
        XCTAssertThrowsError(try Truncation(parsing: "last:21").validate(steps: 20))
        XCTAssertThrowsError(try Truncation(parsing: "gaussian:42,5").validate(steps: 20))
        XCTAssertNoThrow(try Truncation(parsing: "gaussian:42,5").validate(steps: 50))
    }

    func testLastKIsTheFinalStepsOnly() {
        XCTAssertEqual(Truncation.last(2).mask(steps: 5, seed: 0, trajectory: 0), [false, false, false, true, true])
        XCTAssertEqual(Truncation.last(Int.max).mask(steps: 3, seed: 0, trajectory: 9), [true, true, true])
    }

    func testGaussianDrawsOnceAContiguousTail() {
        // The official default at 50 steps: k ~ N(42, 5) rounded and redrawn unless 1 <= k < 50, so K = 50 − k
        // averages 50 − (42 − 5·φ(1.5)/Φ(1.5)) = 8.69 (the rejected tail above k = 49.5 is 1.5 standard deviations out).
        var ks: [Int] = []
        for i in 0..<2000 {
            let m = Truncation.gaussian(mean: 42, std: 5).mask(steps: 50, seed: 1, trajectory: i)
            let k = m.firstIndex(of: true)!
            XCTAssert(m[k...].allSatisfy { $0 } && (1..<50).contains(k))
            ks.append(50 - k)
        }
        let mean = Double(ks.reduce(0, +)) / Double(ks.count)
        XCTAssertEqual(mean, 8.69, accuracy: 0.3)
        XCTAssertEqual(Truncation.gaussian(mean: 42, std: 5).mask(steps: 50, seed: 1, trajectory: 7),
                       Truncation.gaussian(mean: 42, std: 5).mask(steps: 50, seed: 1, trajectory: 7))
    }

    func testPerStepKeepsStepIWithProbabilityIPlusOneOverStepsPlusOne() {
        let steps = 10, n = 4000
        var kept = [Int](repeating: 0, count: steps)
        for i in 0..<n {
            for (s, on) in Truncation.perStep.mask(steps: steps, seed: 2, trajectory: i).enumerated() where on { kept[s] += 1 }
        }
        for s in 0..<steps {
            // Binomial standard error at n = 4000 is below 0.008; 0.03 is about 4 of them.
            XCTAssertEqual(Double(kept[s]) / Double(n), Double(s + 1) / Double(steps + 1), accuracy: 0.03, "step \(s)")
        }
    }
}
