import TweedieCore
import TweedieImaging
import XCTest

final class MetricsTests: XCTestCase {
    /// References from skimage.metrics 0.26 on float64 copies of the same images
    /// (scripts/make_imaging_fixtures.py, `metric_references`).
    func testSSIMPSNRMSEAgainstSkimage() throws {
        let (a, b) = Support.lcgImages(seedA: 12345, seedB: 678, shape: [2, 16, 13])
        XCTAssertEqual(try ImageMetrics.ssim(a, b, dataRange: 1), 0.9908154082400069, accuracy: 1e-9)
        XCTAssertEqual(try ImageMetrics.psnr(a, b, dataRange: 1), 28.914310897691887, accuracy: 1e-9)
        XCTAssertEqual(try ImageMetrics.mse(a, b), 0.001284011490557534, accuracy: 1e-15)
        // A batch axis is averaged like the channel axis.
        let batched = try ImageMetrics.ssim(a.reshaped([2, 1, 16, 13]), b.reshaped([2, 1, 16, 13]), dataRange: 1)
        XCTAssertEqual(batched, 0.9908154082400069, accuracy: 1e-9)
    }

    func testSSIMStructureTermOnShiftedPattern() throws {
        var smooth = [Float](repeating: 0, count: 144), shifted = smooth
        for y in 0..<12 {
            for x in 0..<12 {
                smooth[y * 12 + x] = Float((x * 7 + y * 3) % 16) / 16
                shifted[y * 12 + x] = Float(((x + 11) % 12 * 7 + y * 3) % 16) / 16  // np.roll(.., 1, axis=1)
            }
        }
        let s = try ImageMetrics.ssim(Tensor(shape: [12, 12], data: smooth), Tensor(shape: [12, 12], data: shifted),
                                      dataRange: 2)
        XCTAssertEqual(s, -0.45214460124039146, accuracy: 1e-9)
    }

    func testIdenticalInputsAndErrors() throws {
        let (a, _) = Support.lcgImages(seedA: 1, seedB: 2, shape: [1, 3, 11, 11])
        XCTAssertEqual(try ImageMetrics.ssim(a, a, dataRange: 1), 1, accuracy: 1e-12)
        XCTAssertEqual(try ImageMetrics.psnr(a, a, dataRange: 1), .infinity)
        Support.assertBadInput("smaller than") {
            _ = try ImageMetrics.ssim(Tensor(shape: [10, 12]), Tensor(shape: [10, 12]), dataRange: 1)
        }
        Support.assertBadInput("differ") { _ = try ImageMetrics.mse(Tensor(shape: [2]), Tensor(shape: [3])) }
    }

    func testPSNRFromKnownMSE() throws {
        let a = Tensor(shape: [4], data: [0, 0, 0, 0]), b = Tensor(shape: [4], data: [0.1, -0.1, 0.1, -0.1])
        XCTAssertEqual(try ImageMetrics.mse(a, b), 0.01, accuracy: 1e-9)
        XCTAssertEqual(try ImageMetrics.psnr(a, b, dataRange: 1), 20, accuracy: 1e-6)
        XCTAssertEqual(try ImageMetrics.psnr(a, b, dataRange: 2), 20 + 20 * log10(2.0), accuracy: 1e-6)
    }

    func testSaturationOfPureColours() throws {
        // red, green, blue, yellow: 1; white, gray, black: 0; (200, 100, 100): 0.5.
        let colours: [[UInt8]] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0],
                                  [255, 255, 255], [128, 128, 128], [0, 0, 0], [200, 100, 100]]
        let expected: [Double] = [1, 1, 1, 1, 0, 0, 0, 0.5]
        for (c, e) in zip(colours, expected) {
            let img = PNGImage(width: 1, height: 1, channels: 3, pixels: c)
            XCTAssertEqual(try ImageMetrics.meanSaturation([img]), e, accuracy: 1e-12, "\(c)")
        }
        let strip = PNGImage(width: 8, height: 1, channels: 4, pixels: colours.flatMap { $0 + [7] })
        XCTAssertEqual(try ImageMetrics.meanSaturation([strip]), 4.5 / 8, accuracy: 1e-12)
        // The tensor form in model space agrees with the bytes.
        let t = strip.converted(toChannels: 3).tensor(range: .minusOneToOne)
        XCTAssertEqual(try ImageMetrics.meanSaturation(t, range: .minusOneToOne), 4.5 / 8, accuracy: 1e-6)
        Support.assertBadInput("channels") {
            _ = try ImageMetrics.meanSaturation([PNGImage(width: 1, height: 1, channels: 1)])
        }
    }
}
