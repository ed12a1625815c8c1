import XCTest
import TweedieCore
import TweedieSamplers

/// Conversions of raw VP network outputs to x0, worked out by hand on a 3-timestep table:
/// alphas_cumprod [0.5, 0.25, 0.2] -> sigmas [1, sqrt(3), 2].
final class VPDenoiserTests: XCTestCase {
    let abar = [0.5, 0.25, 0.2]
    let s3 = Float(3).squareRoot()

    func testEpsilonInputScalingAndTimestep() throws {
        var seen: (Tensor, [Float])?
        let d = VPDenoiser(alphasCumprod: abar, prediction: .epsilon) { x, t, labels in
            seen = (x, t)
            XCTAssertNil(labels)
            return Tensor(shape: x.shape, repeating: 1)
        }
        let x = Tensor(shape: [2, 1, 1, 2], data: [2, 4, 6, 8])
        // sigma = sqrt(3): the network sees x / sqrt(3 + 1) = x / 2 at t = 1; x0 = x - sqrt(3) * 1.
        let x0 = try d.denoise(x, sigma: s3, condition: .unconditional)
        XCTAssertEqual(seen!.0.data, [1, 2, 3, 4])
        XCTAssertEqual(seen!.1[0], 1, accuracy: 1e-5)
        XCTAssertEqual(seen!.1.count, 2)
        for (a, b) in zip(x0.data, [2 - s3, 4 - s3, 6 - s3, 8 - s3]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // The geometric mean of sigma_0 and sigma_1 lies halfway in log sigma: t = 0.5.
        XCTAssertEqual(d.timestep(forSigma: s3.squareRoot()), 0.5, accuracy: 1e-5)
    }

    func testVPredictionAndSample() throws {
        // v: x0 = x/(sigma^2+1) - sigma/sqrt(sigma^2+1) v; sigma = sqrt(3), x = 8, v = 2: 8/4 - sqrt(3)/2*2 = 2 - sqrt(3).
        let v = VPDenoiser(alphasCumprod: abar, prediction: .vPrediction) { x, _, _ in Tensor(shape: x.shape, repeating: 2) }
        XCTAssertEqual(try v.denoise(Tensor(shape: [1, 1], data: [8]), sigma: s3, condition: .unconditional).data[0],
                       2 - s3, accuracy: 1e-6)
        // sample: the output itself, clipped to [-1, 1] when asked.
        let s = VPDenoiser(alphasCumprod: abar, prediction: .sample, clipDenoised: 1) { x, _, _ in
            Tensor(shape: x.shape, data: [0.5, -3])
        }
        XCTAssertEqual(try s.denoise(Tensor(shape: [1, 2], data: [7, 7]), sigma: 1, condition: .unconditional).data, [0.5, -1])
    }

    func testLearnedSigmaAndClassLabels() throws {
        var labelsSeen: [Int]?
        // The network returns 2C channels: [eps | variance]; only eps (= 1) counts.
        let d = VPDenoiser(alphasCumprod: abar, learnedSigma: true, nullClass: 1000) { x, _, labels in
            labelsSeen = labels
            var shape = x.shape
            shape[1] *= 2
            return Tensor(shape: shape, data: (0..<(x.count * 2)).map { ($0 / 2) % 2 == 0 ? 1 : 99 })
        }
        let x = Tensor(shape: [2, 2, 1, 1], data: [5, 5, 5, 5])
        let x0 = try d.denoise(x, sigma: 2, condition: Condition(classLabels: [3, Condition.nullLabel]))
        XCTAssertEqual(x0.data, [3, 3, 3, 3])  // 5 - 2 * 1
        XCTAssertEqual(labelsSeen!, [3, 1000])
        _ = try d.denoise(x, sigma: 2, condition: .unconditional)
        XCTAssertEqual(labelsSeen!, [1000, 1000])
        XCTAssertThrowsError(try d.denoise(x, sigma: 2, condition: Condition(classLabels: [1])))
    }
}
