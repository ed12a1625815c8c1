import XCTest
import Tweedie

/// The golden comparison and the update rule: NaN and Inf never pass, a broad one-level shift fails on PSNR, and an
/// update never writes over a regression unless it is accepted.
final class GoldenComparisonTests: XCTestCase {
    func output(_ samples: [Float]) -> GoldenOutput {
        GoldenOutput(images: [PNGImage(width: 1, height: 1, channels: 1, pixels: [128])],
                     samples: Tensor(shape: [1, 1, 1, samples.count], data: samples))
    }

    func testNaNAndInfNeverPass() throws {
        let golden = output([0.5, -0.25, 1])
        for bad in [Float.nan, .infinity, -.infinity] {
            let d = try GoldenDiff(output([0.5, bad, 1]), against: golden)
            XCTAssertFalse(d.passes, "\(bad): \(d.summary)")
            XCTAssertFalse(d.identical, "\(bad)")
        }
        XCTAssertTrue(try GoldenDiff(golden, against: golden).identical)
        // A NaN stored in the golden itself is no reference either.
        XCTAssertFalse(try GoldenDiff(golden, against: output([.nan, -0.25, 1])).passes)
    }

    /// Every sample one level off: within the 2/255 per-sample bound, but 48 dB, below the 60 dB floor.
    func testBroadOneLevelShiftFailsOnPSNR() throws {
        let golden = GoldenOutput(images: [PNGImage(width: 8, height: 8, channels: 3, repeating: 100)],
                                  samples: Tensor(shape: [1, 1, 1, 1], data: [0]))
        let shifted = GoldenOutput(images: [PNGImage(width: 8, height: 8, channels: 3, repeating: 101)],
                                   samples: golden.samples)
        let d = try GoldenDiff(shifted, against: golden)
        XCTAssertEqual(d.imageMaxAbs, 1)
        XCTAssertEqual(d.psnr, 20 * log10(255.0), accuracy: 1e-9)
        XCTAssertFalse(d.passes, d.summary)
    }

    func testUpdateRefusesARegressionUnlessAccepted() throws {
        let golden = output([0.5, -0.25, 1])
        let regressed = GoldenUpdate.move(output([0.5, -0.25, 1.5]), from: golden)
        let drifted = GoldenUpdate.move(output([0.5, -0.25, 1.0001]), from: golden)
        XCTAssertTrue(regressed.blocks)
        XCTAssertFalse(drifted.blocks)
        XCTAssertFalse(GoldenUpdate.move(golden, from: nil).blocks, "a new golden")
        XCTAssertFalse(GoldenUpdate.mayWrite([drifted, regressed, .new], accepting: false))
        XCTAssertTrue(GoldenUpdate.mayWrite([drifted, regressed, .new], accepting: true))
        XCTAssertTrue(GoldenUpdate.mayWrite([drifted, .unchanged, .new], accepting: false))
        XCTAssertTrue(GoldenUpdate.move(output([0.5, .nan, 1]), from: golden).blocks, "NaN")
    }
}
