import XCTest
import TweedieCore
import TweedieTraining

/// Optimisers and schedules against PyTorch/diffusers. The expected numbers were printed by PyTorch 2.x and
/// diffusers 0.42 (`python scripts/make_grad_fixtures.py --optim-reference`) and pasted here.
final class OptimizerTests: XCTestCase {
    /// Two parameters and a gradient g = p³ − target (recomputed from the current weights each step).
    private func run(_ make: ([Tensor]) -> Optimizer, steps: Int = 3) -> [Tensor] {
        var params = [Tensor(shape: [2, 2], data: [0.5, -1.5, 2.0, 0.25]), Tensor(shape: [3], data: [0.1, -0.2, 0.3])]
        let targets = [Tensor(shape: [2, 2], data: [0.2, -0.3, 1.0, 0.0]), Tensor(shape: [3], data: [0.05, 0.4, -0.1])]
        let opt = make(params)
        for _ in 0..<steps {
            let grads = zip(params, targets).map { p, t in
                Tensor(shape: p.shape, data: zip(p.data, t.data).map { $0 * $0 * $0 - $1 })
            }
            opt.update(&params, gradients: grads)
        }
        return params
    }

    private func assertClose(_ got: [Tensor], _ want: [[Float]], _ tol: Float = 2e-6, _ what: String) {
        for (g, w) in zip(got, want) {
            for (a, b) in zip(g.data, w) { XCTAssertEqual(a, b, accuracy: tol * max(1, abs(b)), what) }
        }
    }

    func testAdamWMatchesPyTorch() {
        let got = run { AdamW(parameters: $0, learningRate: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1) }
        assertClose(got, [[0.6277738809585571, -1.1642414331436157, 1.6478111743927002, 0.0013330727815628052],
                          [0.38758450746536255, 0.10282948613166809, -0.00387457013130188]], 2e-6, "AdamW")
    }

    func testSGDMomentumMatchesPyTorch() {
        let got = run { SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) }
        assertClose(got, [[0.5349602699279785, -0.4054427444934845, -0.033752258867025375, 0.24050623178482056],
                          [0.1254485696554184, 0.01660272479057312, 0.23224492371082306]], 2e-6, "SGD")
        let nesterov = run { SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) }
        assertClose(nesterov, [[0.54888916015625, -0.3301035463809967, -0.03786424174904823, 0.23589232563972473],
                               [0.13833200931549072, 0.12624694406986237, 0.19966517388820648]], 2e-6, "Nesterov")
    }

    func testOptimizerStateRoundTripsThroughRestore() throws {
        var params = [Tensor(shape: [3], data: [1, 2, 3])]
        let a = AdamW(parameters: params, learningRate: 0.01)
        a.update(&params, gradients: [Tensor(shape: [3], data: [0.5, -1, 2])])
        var byKind: [String: [Int: Tensor]] = [:]
        for (k, i, t) in a.state { byKind[k, default: [:]][i] = t }
        let b = AdamW(parameters: params, learningRate: 0.01)
        try b.restore(state: byKind, stepCount: a.stepCount)
        var p1 = params, p2 = params
        let g = [Tensor(shape: [3], data: [0.1, 0.2, -0.3])]
        a.update(&p1, gradients: g)
        b.update(&p2, gradients: g)
        XCTAssertEqual(p1, p2)
        XCTAssertThrowsError(try b.restore(state: [:], stepCount: 1))
    }

    func testGlobalNormClippingMatchesPyTorch() {
        var grads = [Tensor(shape: [4], data: [3, 0, 0, 0]), Tensor(shape: [2], data: [4, 12])]
        let norm = clipGradientNorm(&grads, maxNorm: 6.5)
        XCTAssertEqual(norm, 13, accuracy: 1e-5)
        XCTAssertEqual(grads[0].data[0], 1.4999998807907104, accuracy: 1e-6)
        XCTAssertEqual(grads[1].data, [1.9999998807907104, 5.999999523162842].map { Float($0) }, "clip_grad_norm_")
        var small = [Tensor(shape: [2], data: [0.3, 0.4])]
        XCTAssertEqual(clipGradientNorm(&small, maxNorm: 1), 0.5, accuracy: 1e-6)
        XCTAssertEqual(small[0].data, [0.3, 0.4], "below the limit nothing changes")
    }

    func testWarmupCosineMatchesDiffusers() {
        let s = LearningRateSchedule(base: 0.5, warmupSteps: 3, totalSteps: 10)
        let want: [Float] = [0.0, 0.1666666716337204, 0.3333333432674408, 0.5, 0.4752422273159027, 0.4058724641799927,
                             0.30563023686408997, 0.19436976313591003, 0.09412755072116852, 0.024757783859968185, 0.0,
                             0.024757783859968185]
        for (k, w) in want.enumerated() { XCTAssertEqual(s.rate(at: k), w, accuracy: 1e-7, "step \(k)") }
        let constant = LearningRateSchedule(base: 0.5, warmupSteps: 2, totalSteps: 10, decay: .constant)
        XCTAssertEqual([0, 1, 2, 9, 50].map(constant.rate(at:)), [0, 0.25, 0.5, 0.5, 0.5])
    }

    func testEMAMatchesDiffusersEMAModel() {
        let ema = EMA(weights: [Tensor(shape: [1, 2], data: [1, -2])], maxDecay: 0.9)
        let want: [[Float]] = [[0.5, 0.5], [1.7272727489471436, -0.7272727489471436],
                               [2.6818182468414307, 0.5681817531585693], [0.13286709785461426, 2.9440560340881348]]
        for (k, w) in [[0.5, 0.5], [2.0, -1.0], [3.0, 1.0], [-1.0, 4.0]].enumerated() {
            ema.update([Tensor(shape: [1, 2], data: w.map { Float($0) })])
            XCTAssertEqual(ema.weights[0].data[0], want[k][0], accuracy: 1e-6, "update \(k)")
            XCTAssertEqual(ema.weights[0].data[1], want[k][1], accuracy: 1e-6, "update \(k)")
        }
    }
}
