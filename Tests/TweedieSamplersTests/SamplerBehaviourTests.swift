import XCTest
import TweedieCore
import TweedieSamplers

final class SamplerBehaviourTests: XCTestCase {
    let model = ClosureDenoiser { x, sigma, _ in Tensor(shape: x.shape, data: x.data.map { $0 / (1 + sigma * sigma) }) }
    let sigmas: [Float] = [8, 4, 2, 1, 0.5, 0]

    func testEveryBuiltInReportsEachStepAndStopsOnRequest() throws {
        let x = try PhiloxNoise(seed: 1).normal(shape: [2, 1, 3, 3], purpose: .initial)
        // dpm_fast and dpm_adaptive integrate between the schedule's ends on their own grid and report its steps.
        let ownGrid: Set<String> = ["dpm_fast", "dpm_adaptive"]
        for name in SamplerRegistry.names {
            let sampler = try SamplerRegistry.sampler(named: name)
            var seen: [Int] = []
            var reports: [StepInfo] = []
            let out = try sampler(model, x, sigmas, .unconditional, PhiloxNoise(seed: 2)) { info in
                seen.append(info.step)
                reports.append(info)
                if !ownGrid.contains(name) {
                    XCTAssertEqual(info.total, 5)
                    XCTAssertEqual(info.sigma, self.sigmas[info.step])
                }
                return .continue
            }
            if ownGrid.contains(name) {
                XCTAssertEqual(seen, Array(0..<seen.count), name)
                XCTAssertEqual(reports.first?.sigma, sigmas[0], name)
                XCTAssertEqual(reports.last?.total, seen.count, name)
                XCTAssertEqual(reports.last?.sigmaNext, 0, name)
                XCTAssertEqual(reports.dropLast().last?.sigmaNext, 0.5, name)
                XCTAssertTrue(zip(reports, reports.dropFirst()).allSatisfy { $0.sigmaNext == $1.sigma && $1.sigma < $0.sigma },
                              name)
            } else {
                XCTAssertEqual(seen, [0, 1, 2, 3, 4], name)
            }
            XCTAssertEqual(out.shape, x.shape)
            XCTAssertTrue(out.data.allSatisfy(\.isFinite), name)
            var lastDenoised: Tensor?
            let stopped = try sampler(model, x, sigmas, .unconditional, PhiloxNoise(seed: 2)) { info in
                lastDenoised = info.denoised
                return info.step == 1 ? .stop : .continue
            }
            XCTAssertEqual(stopped, lastDenoised, "\(name) returns the denoised estimate of the stopping step")
        }
    }

    /// Ancestral noise comes from the step's own Philox stream: same seed, same result; other seed, other result.
    func testAncestralSamplersAreReproducible() throws {
        let x = try PhiloxNoise(seed: 1).normal(shape: [1, 1, 4, 4], purpose: .initial)
        for name in ["euler_a", "ddpm", "dpmpp_2m_sde", "dpm2_a", "dpmpp_2s_a", "dpmpp_sde", "dpmpp_3m_sde"] {
            let sampler = try SamplerRegistry.sampler(named: name)
            let a = try sampler(model, x, sigmas, .unconditional, PhiloxNoise(seed: 9), ignoreSteps)
            let b = try sampler(model, x, sigmas, .unconditional, PhiloxNoise(seed: 9), ignoreSteps)
            let c = try sampler(model, x, sigmas, .unconditional, PhiloxNoise(seed: 10), ignoreSteps)
            XCTAssertEqual(a, b, name)
            XCTAssertNotEqual(a, c, name)
        }
        // Deterministic samplers draw nothing.
        for name in ["euler", "ddim", "heun", "dpm2", "dpmpp_2m", "lms", "dpm_fast", "dpm_adaptive", "uni_pc_bh2"] {
            XCTAssertNoThrow(try SamplerRegistry.sampler(named: name)(model, x, sigmas, .unconditional, NoNoise(), ignoreSteps))
        }
    }

    func testRejectsBadSigmas() throws {
        let x = Tensor(shape: [1, 1], data: [1])
        for bad: [Float] in [[1], [1, 2, 0], [3, -1]] {
            XCTAssertThrowsError(try Samplers.euler(model: model, x: x, sigmas: bad, condition: .unconditional,
                                                    noise: NoNoise(), onStep: ignoreSteps)) { e in
                XCTAssertEqual((e as! TweedieError).exitCode, 2)
            }
        }
    }

    /// Ancestral split: sigma_down^2 + sigma_up^2 = sigma'^2; eta = 1 gives the DDPM posterior std
    /// sigma' sqrt(sigma^2 - sigma'^2)/sigma: for (2, 1): sqrt(3)/2 and sigma_down = 1/2.
    func testAncestralStep() {
        let (down, up) = Samplers.ancestralStep(2, 1, eta: 1)
        XCTAssertEqual(up, 3.0.squareRoot() / 2, accuracy: 1e-12)
        XCTAssertEqual(down, 0.5, accuracy: 1e-12)
        XCTAssertEqual(Samplers.ancestralStep(2, 1, eta: 0).down, 1)
        XCTAssertEqual(Samplers.ancestralStep(2, 0, eta: 1).up, 0)
    }
}
