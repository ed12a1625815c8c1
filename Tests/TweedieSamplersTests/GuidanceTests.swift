import XCTest
import TweedieCore
import TweedieSamplers

/// Golden values worked out by hand on 2x2 samples (shape [1, 1, 2, 2] unless noted).
final class GuidanceTests: XCTestCase {
    func t(_ v: [Float], batch: Int = 1) -> Tensor { Tensor(shape: [batch, 1, 2, 2], data: v) }

    func assertClose(_ a: Tensor, _ b: [Float], _ tol: Float = 1e-5, _ msg: String = "", line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, line: line)
        for (x, y) in zip(a.data, b) { XCTAssertEqual(x, y, accuracy: tol, msg, line: line) }
    }

    func testClassifierFreeGuidance() {
        // cond [1,2,3,4], uncond [0,1,1,2], w = 3: u + 3(c - u) = [0+3, 1+3, 1+6, 2+6] = [3, 4, 7, 8].
        let cfg = ClassifierFreeGuidance(scale: 3)
        assertClose(cfg.combine(conditional: t([1, 2, 3, 4]), unconditional: t([0, 1, 1, 2]), step: 0, total: 1),
                    [3, 4, 7, 8])
        XCTAssertTrue(cfg.needsUnconditional(step: 0, total: 10))
        // w = 1 is the conditional prediction and needs no unconditional pass.
        XCTAssertFalse(ClassifierFreeGuidance(scale: 1).needsUnconditional(step: 0, total: 10))
        assertClose(ClassifierFreeGuidance(scale: 1).combine(conditional: t([1, 2, 3, 4]),
                                                             unconditional: t([0, 1, 1, 2]), step: 0, total: 1),
                    [1, 2, 3, 4])
    }

    func testGuidanceRescale() {
        // guided g = [3,4,7,8]: mean 5.5, squared deviations 6.25+2.25+2.25+6.25 = 17, unbiased std sqrt(17/3).
        // cond [1,2,3,4]: mean 2.5, squared deviations 2.25+0.25+0.25+2.25 = 5, std sqrt(5/3).
        // ratio sqrt(5/17) = 0.5423261445; phi = 0.5: factor 0.5*0.5423261445 + 0.5 = 0.7711630723
        // -> [2.3134892, 3.0846523, 5.3981415, 6.1693046]; phi = 1: g * 0.5423261445.
        let half = ClassifierFreeGuidance(scale: 3, rescale: 0.5)
        assertClose(half.combine(conditional: t([1, 2, 3, 4]), unconditional: t([0, 1, 1, 2]), step: 0, total: 1),
                    [2.3134892, 3.0846523, 5.3981415, 6.1693046])
        let full = ClassifierFreeGuidance(scale: 3, rescale: 1)
        assertClose(full.combine(conditional: t([1, 2, 3, 4]), unconditional: t([0, 1, 1, 2]), step: 0, total: 1),
                    [1.6269784, 2.1693046, 3.7962830, 4.3386092])
        // Statistics are per sample: second sample cond [0,0,0,2] (mean 0.5, squared deviations 3, std 1),
        // uncond [0,0,0,1], w = 3 -> g = [0,0,0,4] (mean 1, squared deviations 12, std 2): factor 1/2 -> [0,0,0,2].
        let batch = full.combine(conditional: t([1, 2, 3, 4, 0, 0, 0, 2], batch: 2),
                                 unconditional: t([0, 1, 1, 2, 0, 0, 0, 1], batch: 2), step: 0, total: 1)
        assertClose(batch, [1.6269784, 2.1693046, 3.7962830, 4.3386092, 0, 0, 0, 2])
    }

    func testAdaptiveProjectedGuidance() {
        // cond c = [3,4,0,0] (norm 5, unit direction [0.6,0.8,0,0]); uncond u = [1,4,-1,2]; diff = c - u = [2,0,1,-2].
        // w = 2, eta = 0, beta = -0.5, r = 0:
        // step 1: running = diff; parallel = (diff.v1) v1 = 1.2*[0.6,0.8,0,0] = [0.72,0.96,0,0];
        //         orthogonal = [1.28,-0.96,1,-2]; guided = c + (2-1)*orthogonal = [4.28,3.04,1,-2].
        // step 2: running = diff - 0.5*running = [1,0,0.5,-1]; parallel = 0.6*v1 = [0.36,0.48,0,0];
        //         orthogonal = [0.64,-0.48,0.5,-1]; guided = [3.64,3.52,0.5,-1].
        let c = t([3, 4, 0, 0]), u = t([1, 4, -1, 2])
        let apg = AdaptiveProjectedGuidance(scale: 2, eta: 0, momentum: -0.5, normThreshold: 0)
        assertClose(apg.combine(conditional: c, unconditional: u, step: 0, total: 2), [4.28, 3.04, 1, -2])
        assertClose(apg.combine(conditional: c, unconditional: u, step: 1, total: 2), [3.64, 3.52, 0.5, -1])
        apg.reset()
        assertClose(apg.combine(conditional: c, unconditional: u, step: 0, total: 2), [4.28, 3.04, 1, -2])

        // Norm threshold r = 1.5: ||diff|| = 3, so diff is halved to [1,0,0.5,-1] -> [3.64,3.52,0.5,-1] (no momentum).
        let clipped = AdaptiveProjectedGuidance(scale: 2, eta: 0, momentum: 0, normThreshold: 1.5)
        assertClose(clipped.combine(conditional: c, unconditional: u, step: 0, total: 1), [3.64, 3.52, 0.5, -1])
        // eta = 1 keeps the parallel part: c + halved diff = [4,4,0.5,-1].
        let eta1 = AdaptiveProjectedGuidance(scale: 2, eta: 1, momentum: 0, normThreshold: 1.5)
        assertClose(eta1.combine(conditional: c, unconditional: u, step: 0, total: 1), [4, 4, 0.5, -1])
        // eta = 1, no momentum, no threshold is CFG: u + 3(c - u) for w = 3 = [7,4,2,-4].
        let cfgLike = AdaptiveProjectedGuidance(scale: 3, eta: 1, momentum: 0, normThreshold: 0)
        assertClose(cfgLike.combine(conditional: c, unconditional: u, step: 0, total: 1), [7, 4, 2, -4])
    }

    func testGuidanceInterval() throws {
        // 4 steps, interval [0.25, 0.75): steps 1 and 2 are guided, 0 and 3 are conditional only.
        let g = try GuidanceInterval(ClassifierFreeGuidance(scale: 3), start: 0.25, stop: 0.75)
        XCTAssertEqual((0..<4).map { g.needsUnconditional(step: $0, total: 4) }, [false, true, true, false])
        assertClose(g.combine(conditional: t([1, 2, 3, 4]), unconditional: t([0, 1, 1, 2]), step: 3, total: 4),
                    [1, 2, 3, 4])
        assertClose(g.combine(conditional: t([1, 2, 3, 4]), unconditional: t([0, 1, 1, 2]), step: 2, total: 4),
                    [3, 4, 7, 8])
        XCTAssertThrowsError(try GuidanceInterval(NoGuidance(), start: 0.8, stop: 0.2))
    }

    /// The guided denoiser sends one 2N batch (conditional labels, then null labels) and combines the halves.
    func testGuidedDenoiserBatchesConditionalAndUnconditional() throws {
        var calls: [(Int, [Int]?)] = []
        // A model whose x0 is the class label (0 for the null label), whatever x is.
        let model = ClosureDenoiser { x, _, condition in
            calls.append((x.shape[0], condition.classLabels))
            let labels = condition.labels(count: x.shape[0]).map { Float(max($0, 0)) }
            let per = x.count / x.shape[0]
            return Tensor(shape: x.shape, data: (0..<x.count).map { labels[$0 / per] })
        }
        let sigmas: [Float] = [10, 5, 2, 1, 0]
        let guided = GuidedDenoiser(model: model,
                                    guider: try GuidanceInterval(ClassifierFreeGuidance(scale: 3), start: 0, stop: 0.5),
                                    sigmas: sigmas)
        let x = Tensor(shape: [2, 1, 2, 2], repeating: 0.5)
        let cond = Condition(classLabels: [5, 7])
        // Step 0: guided, 0 + 3 * (label - 0) = 15 and 21.
        assertClose(try guided.denoise(x, sigma: 10, condition: cond), [15, 15, 15, 15, 21, 21, 21, 21])
        XCTAssertEqual(calls.last!.0, 4)
        XCTAssertEqual(calls.last!.1!, [5, 7, Condition.nullLabel, Condition.nullLabel])
        // Step 2 (sigma 2) is outside [0, 0.5): conditional only, batch of 2.
        assertClose(try guided.denoise(x, sigma: 2, condition: cond), [5, 5, 5, 5, 7, 7, 7, 7])
        XCTAssertEqual(calls.last!.0, 2)
        XCTAssertEqual(guided.step(forSigma: 3.5), 1)
        XCTAssertEqual(guided.step(forSigma: 5), 1)
    }

    /// APG momentum restarts with each run through the guided denoiser.
    func testGuidedDenoiserResetsMomentumPerRun() throws {
        let c: [Float] = [3, 4, 0, 0], u: [Float] = [1, 4, -1, 2]
        let model = ClosureDenoiser { x, _, condition in
            let labels = condition.labels(count: x.shape[0])
            return Tensor(shape: x.shape, data: labels.flatMap { $0 == Condition.nullLabel ? u : c })
        }
        let sigmas: [Float] = [4, 2, 0]
        let guided = GuidedDenoiser(model: model, guider: AdaptiveProjectedGuidance(scale: 2), sigmas: sigmas)
        let x = t([0, 0, 0, 0])
        for _ in 0..<2 {
            assertClose(try guided.denoise(x, sigma: 4, condition: Condition(classLabels: [1])), [4.28, 3.04, 1, -2])
            assertClose(try guided.denoise(x, sigma: 2, condition: Condition(classLabels: [1])), [3.64, 3.52, 0.5, -1])
        }
    }
}
