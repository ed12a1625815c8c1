import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieTuning

// The README's user-written reward, verbatim: a reward is one type and one registration line.

/// Warmth: mean red minus mean blue, in [-1, 1] pixel units (a reward written with the tape's own ops).
struct Warmth: DifferentiableReward {
    let name = "warmth"

    func check(sampleShape: [Int]) throws {
        guard sampleShape.first == 3 else { throw TweedieError.badInput("reward warmth: needs RGB images") }
    }

    func reward(_ images: Variable) throws -> Variable {
        let t = images.tape
        let rgb = t.split(images, sizes: [1, 1, 1], axis: 1)
        return t.sub(t.mean(rgb[0]), t.mean(rgb[2]))
    }
}

final class CustomRewardTests: XCTestCase {
    override func tearDown() { RewardRegistry.remove(named: "warmth") }

    func testAUserRewardRegistersAndTrains() throws {
        RewardRegistry.register("warmth", help: "mean red minus mean blue") { _, _ in Warmth() }
        XCTAssert(RewardRegistry.names.contains("warmth"))
        let reward = try RewardRegistry.make("warmth")
        // Its gradient: +1/(N·H·W) on every red value, −1/(N·H·W) on every blue one.
        let tape = Tape()
        let x = tape.leaf(uniformTensor([2, 3, 4, 4], seed: 1, -1, 1), requiresGrad: true)
        let g = tape.gradients(of: try reward.reward(x), wrt: [x])[0]
        XCTAssertEqual(g.data[0], 1.0 / 32, accuracy: 1e-7)
        XCTAssertEqual(g.data[16], 0)
        XCTAssertEqual(g.data[32], -1.0 / 32, accuracy: 1e-7)
        // And the fine-tuning objective takes it like a built-in one.
        var s = AlignPropSettings()
        s.samplingSteps = 3
        s.batch = 2
        s.accumulate = 1
        let model = try TinyModel.unet()
        let objective = try AlignPropObjective(model: model, scheduler: TinyModel.scheduler(), reward: reward,
                                               settings: s, nullClass: TinyModel.nullClass, classOf: TinyModel.classOf)
        let p = try s.loraTargets.attach(to: model.weights, rank: 2, alpha: 2, seed: 1)
        let e = try objective.evaluate(p, step: 0, microBatch: 0)
        XCTAssert(e.gradients.contains { $0.maxAbs > 0 }, "the LoRA B factors get a gradient")
        XCTAssertEqual(e.metrics["reward"]!, -e.loss)
    }
}
