import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieTuning

/// Each built-in reward's gradient with respect to the pixels against central differences of its value (the
/// values summed in Double: the reward's own Float sum rounds more than the difference quotient resolves).
final class RewardGradientTests: XCTestCase {
    /// d reward / d images at `images`, and the worst relative error against differences over some elements.
    private func check(_ reward: DifferentiableReward, _ images: Tensor, h: Float,
                       value: (Tensor) throws -> Double) throws -> Double {
        let tape = Tape()
        let x = tape.leaf(images, requiresGrad: true)
        let g = tape.gradients(of: try reward.reward(x), wrt: [x])[0]
        XCTAssertGreaterThan(g.maxAbs, 0, reward.name)
        let indices = Array(stride(from: 0, to: images.count, by: max(1, images.count / 40)))
        return try finiteDifferenceError(images, g, indices: indices, directions: 2, h: h, value)
    }

    func testColorfulnessGradient() throws {
        // Pixels inside (-0.9, 0.9): the [0, 1] clamp is inactive, the soft max and min are smooth.
        let images = uniformTensor([2, 3, 5, 4], seed: 11, -0.9, 0.9)
        let reward = ColorfulnessReward()
        let worst = try check(reward, images, h: 1e-3) { x in
            // S per pixel in Double from the same definition.
            let plane = 20, tau = Double(ColorfulnessReward.temperature), eps = Double(ColorfulnessReward.epsilon)
            var total = 0.0
            for b in 0..<2 {
                for i in 0..<plane {
                    let c = (0..<3).map { Double(x.data[b * 3 * plane + $0 * plane + i] + 1) / 2 }
                    let w = c.map { exp($0 / tau) }, u = c.map { exp(-$0 / tau) }
                    let big = zip(w, c).map(*).reduce(0, +) / w.reduce(0, +)
                    let small = zip(u, c).map(*).reduce(0, +) / u.reduce(0, +)
                    total += (big - small) / (big + eps)
                }
            }
            return total / Double(2 * plane)
        }
        // Measured 6.2e-6 (five-point differences, h 1e-3; S moves on a scale of τ = 0.05).
        assertMeasured(worst, tolerance: 6.2e-5, "colorfulness gradient vs finite differences")
        // Grey pixels score 0, a pure primary scores about 1 / (1 + ε).
        let grey = Tensor(shape: [1, 3, 1, 1], repeating: 0.2)
        XCTAssertEqual(try reward.scores(grey)[0], 0, accuracy: 1e-6)
        let red = Tensor(shape: [1, 3, 1, 1], data: [1, -1, -1])
        XCTAssertEqual(try reward.scores(red)[0], 1 / (1 + ColorfulnessReward.epsilon), accuracy: 1e-4)
    }

    func testSmoothnessGradient() throws {
        let images = uniformTensor([2, 2, 4, 5], seed: 12, -1, 1)
        let worst = try check(SmoothnessReward(), images, h: 1e-3) { x in
            let d = Double(SmoothnessReward.delta)
            var total = 0.0
            for q in 0..<4 {
                for y in 0..<4 {
                    for xx in 0..<5 {
                        let i = q * 20 + y * 5 + xx
                        for j in [xx + 1 < 5 ? i + 1 : -1, y + 1 < 4 ? i + 5 : -1] where j >= 0 {
                            let diff = Double(x.data[j] - x.data[i]) / 2
                            total += (diff * diff + d * d).squareRoot() - d
                        }
                    }
                }
            }
            return -total / Double(x.count)
        }
        // Measured 1.8e-5 (h 1e-3 against the δ = 0.01 smoothing).
        assertMeasured(worst, tolerance: 1.8e-4, "smoothness gradient vs finite differences")
        XCTAssertEqual(try SmoothnessReward().scores(Tensor(shape: [1, 1, 3, 3], repeating: 0.3))[0], 0)
    }

    func testClassifierLogProbabilityGradient() throws {
        let judge = try TweedieClassifier(folder: RepositoryPaths.judge)
        let reward = try ClassifierReward(judge: judge, target: 3)
        let images = uniformTensor([2, 3, 32, 32], seed: 13, -0.9, 0.9)
        let worst = try check(reward, images, h: 2e-2) { x in
            let logp = logSoftmaxLastDim(try judge.logits(x))
            return (Double(logp.data[3]) + Double(logp.data[10 + 3])) / 2
        }
        // Measured 6.6e-5 (float32 network, h 2e-2).
        assertMeasured(worst, tolerance: 6.6e-4, "classifier:3 gradient vs finite differences")
        XCTAssertThrowsError(try ClassifierReward(judge: judge, target: 10)) { error in
            XCTAssert("\(error)".contains("0..<10"), "\(error)")
        }
    }

    func testRegistryNamesAndBadSpecs() throws {
        XCTAssertEqual(try RewardRegistry.make("colorfulness").name, "colorfulness")
        XCTAssertEqual(try RewardRegistry.make("classifier:7", context: RewardContext(judgeFolder: RepositoryPaths.judge)).name,
                       "classifier:7")
        for bad in ["beauty", "classifier", "classifier:x", "smoothness:2"] {
            XCTAssertThrowsError(try RewardRegistry.make(bad, context: RewardContext(judgeFolder: RepositoryPaths.judge)),
                                 bad) { error in
                guard let e = error as? TweedieError, e.exitCode == 2 else { return XCTFail("\(bad): \(error)") }
                let m = e.message
                XCTAssert(m.contains("--reward"), m)
            }
        }
        XCTAssertThrowsError(try ColorfulnessReward().check(sampleShape: [1, 8, 8]))
    }
}
