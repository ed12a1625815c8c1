import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieSamplers
import TweedieTuning

/// Reward backpropagation on a tiny UNet: the gradient into the LoRA factors through one DDIM step and through a
/// whole guided chain against finite differences; checkpointed steps change no bit of it.
final class AlignPropGradientTests: XCTestCase {
    /// A tiny model with LoRA on its attention projections whose B factors are nonzero (at B = 0 the gradient of
    /// A vanishes), and the objective over it.
    private func setup(steps: Int, cfg: Float = 3, truncation: Truncation = .last(Int.max),
                       checkpointing: Bool = false, clip: Bool = false,
                       reward: DifferentiableReward? = nil) throws -> (AlignPropObjective, TuningParameters) {
        let model = try TinyModel.unet()
        var s = AlignPropSettings()
        s.samplingSteps = steps
        s.cfgScale = cfg
        s.truncation = truncation
        s.gradientCheckpointing = checkpointing
        s.batch = 2
        s.accumulate = 1
        s.seed = 5
        var p = try s.loraTargets.attach(to: model.weights, rank: 2, alpha: 2, seed: 9)
        for (i, name) in p.names.enumerated() where name.hasSuffix("lora_B.weight") {
            p.values[i] = uniformTensor(p.values[i].shape, seed: UInt64(40 + i), -0.3, 0.3)
        }
        let r = reward ?? LinearTestReward(weight: uniformTensor([2, 3, 8, 8], seed: 77, -1, 1))
        let objective = try AlignPropObjective(model: model, scheduler: TinyModel.scheduler(clip: clip), reward: r,
                                               settings: s, nullClass: TinyModel.nullClass, classOf: TinyModel.classOf)
        return (objective, p)
    }

    /// The worst error of the gradient `grads` of the chain `images(p)` (rewarded by the test's linear reward)
    /// against finite differences, over two A and two B factors of different layers.
    private func worstError(_ o: AlignPropObjective, _ p: TuningParameters, grads: [Tensor],
                            images: (TuningParameters) throws -> Tensor) throws -> Double {
        let reward = o.reward as! LinearTestReward
        var worst = 0.0
        for k in [0, 1, p.names.count - 2, p.names.count - 1] {
            XCTAssertGreaterThan(grads[k].maxAbs, 0, p.names[k])
            let indices = Array(stride(from: 0, to: p.values[k].count, by: max(1, p.values[k].count / 4)))
            let err = try finiteDifferenceError(p.values[k], grads[k], indices: indices, directions: 2, h: 3e-2) { v in
                var q = p
                q.values[k] = v
                return -reward.value(try images(q))  // the loss is minus the reward
            }
            worst = max(worst, err)
        }
        return worst
    }

    func testGradientThroughOneGuidedDDIMStep() throws {
        let (o, p) = try setup(steps: 4)
        // One step from sigma 2 to 0.9, from a noisy point, classes 0 and 2.
        let x0 = uniformTensor([2, 3, 8, 8], seed: 21, -3, 3), sigmas: [Float] = [2, 0.9], labels = [0, 2]
        func run(_ q: TuningParameters, grads: Bool) throws -> (Tensor, [Tensor]) {
            let tape = Tape()
            let leaves = q.values.map { tape.leaf($0, requiresGrad: grads) }
            let out = try o.sample(tape, names: q.names, factors: leaves, x: tape.constant(x0), sigmas: sigmas,
                                   labels: labels, gradientSteps: nil)
            guard grads else { return (out.value, []) }
            return (out.value, tape.gradients(of: tape.scale(try o.reward.reward(out), -1), wrt: leaves))
        }
        let worst = try worstError(o, p, grads: try run(p, grads: true).1) { try run($0, grads: false).0 }
        // Measured 1.2e-3 (five-point differences, h 3e-2, float32 network).
        assertMeasured(worst, tolerance: 1.2e-2, "AlignProp gradient, one DDIM step with CFG 3")
    }

    func testGradientThroughTheWholeChain() throws {
        let (o, p) = try setup(steps: 4)
        let e = try o.evaluate(p, step: 0, microBatch: 0)
        let worst = try worstError(o, p, grads: e.gradients) { q in
            let tape = Tape()
            return try o.sample(tape, names: q.names, factors: q.values.map { tape.constant($0) }, first: 0, count: 2,
                                gradientSteps: nil).value
        }
        // Measured 1.8e-3 (five-point differences, h 3e-2, float32 network, 4 guided steps).
        assertMeasured(worst, tolerance: 1.8e-2, "AlignProp gradient, 4-step chain with CFG 3")
    }

    func testCheckpointedStepsEqualPlainBackpropBitForBit() throws {
        for truncation in [Truncation.last(Int.max), .last(2), .perStep] {
            for clip in [false, true] {
                let (plain, p) = try setup(steps: 4, truncation: truncation, clip: clip)
                let (recomputed, _) = try setup(steps: 4, truncation: truncation, checkpointing: true, clip: clip)
                let a = try plain.evaluate(p, step: 0, microBatch: 0), b = try recomputed.evaluate(p, step: 0, microBatch: 0)
                XCTAssertEqual(a.loss, b.loss, "\(truncation) clip \(clip)")
                XCTAssertEqual(a.gradients, b.gradients, "\(truncation) clip \(clip)")
            }
        }
    }

    /// The objective samples what `generate --sampler ddim` samples: the same schedule, noise, classes and CFG.
    func testSamplesAreTheDDIMSamplersAtTheSameSeeds() throws {
        let (o, p) = try setup(steps: 5, clip: true)
        let tape = Tape()
        let images = try o.sample(tape, names: p.names, factors: p.values.map { tape.constant($0) }, first: 3, count: 2,
                                  gradientSteps: nil).value
        // The reference: LoRA merged into the weights, the plain sampler stack of `generate`.
        let model = o.model
        for i in 0..<p.names.count where p.names[i].hasSuffix(".lora_A.weight") {
            let prefix = String(p.names[i].dropLast(".lora_A.weight".count))
            model.weights.insert(p.names[i], p.values[i])
            model.weights.insert(prefix + ".lora_B.weight", p.values[i + 1])
            (model.weights.providers[prefix] as! LoRAWeights).merge(prefix, in: model.weights)
        }
        // The denoiser leaves x0 unclamped: ClippedDDIM clamps it and keeps the raw direction (as generate).
        let vp = VPDenoiser(config: TinyModel.scheduler(clip: false), nullClass: TinyModel.nullClass) { x, t, labels in
            try model.forward(x, timesteps: t, classLabels: labels)
        }
        let guided = GuidedDenoiser(model: vp, guider: ClassifierFreeGuidance(scale: 3), sigmas: o.schedule.sigmas)
        let x = try o.initialNoise(first: 3, count: 2)
        let reference = try ClippedDDIM.sampler(eta: 0, clip: 1)(guided, x, o.schedule.sigmas,
                                                                Condition(classLabels: [0, 1]), PhiloxNoise(seed: 0)) { _ in .continue }
        // Measured 1.6e-5 (merged vs low-rank LoRA path over 5 guided steps, float32).
        assertMeasured(images.maxAbsDifference(reference), tolerance: 1.6e-4 * max(1, reference.maxAbs),
                       "AlignProp tape samples vs generate's ddim")
    }
}
