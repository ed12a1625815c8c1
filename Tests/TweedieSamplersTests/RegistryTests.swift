import XCTest
import TweedieCore
import TweedieSamplers

final class RegistryTests: XCTestCase {
    func testBuiltInNamesAndFamilies() throws {
        let builtIn = ["ddpm", "ddim", "euler", "euler_a", "heun", "dpm2", "dpmpp_2m", "dpmpp_2m_sde", "lms", "dpm2_a",
                       "dpmpp_2s_a", "dpmpp_sde", "dpmpp_3m_sde", "dpm_fast", "dpm_adaptive", "uni_pc_bh2"]
        for name in builtIn {
            XCTAssertNoThrow(try SamplerRegistry.sampler(named: name), name)
        }
        XCTAssertEqual(SamplerRegistry.builtInNames, builtIn.sorted())
        XCTAssertEqual(try SamplerRegistry.family(of: "ddpm"), .ddpm)
        XCTAssertEqual(try SamplerRegistry.family(of: "ddim"), .ddim)
        XCTAssertEqual(try SamplerRegistry.family(of: "dpmpp_2m"), .dpmSolver)
        XCTAssertEqual(try SamplerRegistry.family(of: "heun"), .euler)
        XCTAssertEqual(try SamplerRegistry.family(of: "dpm_adaptive"), .euler)
        // diffusers' UniPCMultistepScheduler lays out its timesteps as DPMSolverMultistepScheduler does.
        XCTAssertEqual(try SamplerRegistry.family(of: "uni_pc_bh2"), .dpmSolver)
    }

    func testUnknownNameListsValidOnes() {
        XCTAssertThrowsError(try SamplerRegistry.sampler(named: "lcm")) { e in
            let err = e as! TweedieError
            XCTAssertEqual(err.exitCode, 2)
            XCTAssertTrue(err.message.contains("lcm") && err.message.contains("dpmpp_2m") && err.message.contains("euler_a"),
                          err.message)
        }
    }

    /// A sampler defined outside the module, registered by name, runs like a built-in one: on Gaussian data it
    /// lands as close to the exact ODE solution as Heun (both second order).
    func testExternalSamplerRegisteredByName() throws {
        CustomSamplerExample.register()
        XCTAssertTrue(SamplerRegistry.names.contains("midpoint"))
        let sampler = try SamplerRegistry.sampler(named: "midpoint")
        let model = ClosureDenoiser { x, sigma, _ in
            Tensor(shape: x.shape, data: x.data.map { (0.25 * $0 + sigma * sigma * 0.3) / (0.25 + sigma * sigma) })
        }
        let sigmas = SamplingSchedule.exponential(steps: 21, sigmaMin: 0.1, sigmaMax: 10).dropLast().map { Float($0) }
        let x = Tensor(shape: [1, 1], data: [5])
        let exact = 0.3 + (5 - 0.3) * (0.25 + 0.01).squareRoot() / (0.25 + 100).squareRoot()
        let got = try sampler(model, x, sigmas, .unconditional, NoNoise(), ignoreSteps).data[0]
        let heun = try Samplers.heun(model: model, x: x, sigmas: sigmas, condition: .unconditional, noise: NoNoise(),
                                     onStep: ignoreSteps).data[0]
        XCTAssertLessThan(abs(Double(got) - exact), 2e-3)
        XCTAssertLessThan(abs(Double(got) - exact), 3 * abs(Double(heun) - exact) + 1e-5)
    }
}
