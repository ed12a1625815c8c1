import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieSamplers

/// Betas, timesteps and sigmas against diffusers' schedulers (Fixtures/schedules.json).
final class ScheduleTests: XCTestCase {
    func testAgainstDiffusers() throws {
        let cases = try Fixture.json("schedules.json") as! [[String: Any]]
        var checked = 0
        for c in cases {
            let name = c["name"] as! String
            let config = try SchedulerConfig(dictionary: c["config"] as! [String: Any], source: name)
            let ac = NoiseSchedule.alphasCumprod(config)
            for (i, ref) in zip(Fixture.ints(c["alphas_cumprod_index"]), Fixture.doubles(c["alphas_cumprod"])) {
                XCTAssertEqual(ac[i], ref, accuracy: 2e-6 * ref, "\(name) alphas_cumprod[\(i)]")
            }
            for case let f as [String: Any] in c["families"] as! [Any] {
                var cfg = config
                let steps = f["steps"] as! Int
                let label = "\(name) \(f["family"]!) \(f["spacing"] ?? "karras") offset \(f["steps_offset"] ?? 0) steps \(steps)"
                let family: ScheduleFamily
                switch f["family"] as! String {
                case "discrete": family = .ddim
                case "dpmsolver": family = .dpmSolver
                default: family = .euler
                }
                var spacing: SigmaSpacing?
                if f["family"] as! String == "karras" {
                    spacing = .karras()
                } else {
                    cfg.timestepSpacing = TimestepSpacing(rawValue: f["spacing"] as! String)!
                    cfg.stepsOffset = f["steps_offset"] as! Int
                }
                let sched = try SamplingSchedule(config: cfg, steps: steps, family: family, spacing: spacing)
                let refT = Fixture.floats(f["timesteps"])
                XCTAssertEqual(sched.timesteps.count, refT.count, label)
                let tol: Float = spacing == nil ? 1e-4 : 5e-4
                for (a, b) in zip(sched.timesteps, refT) { XCTAssertEqual(a, b, accuracy: tol, label) }
                if f["sigmas"] != nil {
                    // Measured 0 to 2.3e-7 (float32 rounding of diffusers' sigmas) over the 78 schedules.
                    assertMeasured(relativeError(sched.sigmas, Fixture.floats(f["sigmas"])), tolerance: 2e-6,
                                   "schedule \(label)")
                }
                if let ins = f["init_noise_sigma"] as? NSNumber {
                    XCTAssertEqual(sched.initNoiseSigma, ins.floatValue, accuracy: 1e-5 * ins.floatValue, label)
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, 3 * 2 * (3 * 2 * 3 + 1))
    }

    func testKarrasAndExponentialEndpoints() {
        let k = SamplingSchedule.karras(steps: 5, sigmaMin: 0.1, sigmaMax: 10, rho: 7)
        XCTAssertEqual(k.count, 6)
        XCTAssertEqual(k[0], 10, accuracy: 1e-12)
        XCTAssertEqual(k[4], 0.1, accuracy: 1e-12)
        XCTAssertEqual(k[5], 0)
        // rho = 1 is linear in sigma: 10, 7.525, 5.05, 2.575, 0.1.
        XCTAssertEqual(SamplingSchedule.karras(steps: 5, sigmaMin: 0.1, sigmaMax: 10, rho: 1)[2], 5.05, accuracy: 1e-12)
        // exponential: geometric, 10, 1, 0.1 for three steps.
        let e = SamplingSchedule.exponential(steps: 3, sigmaMin: 0.1, sigmaMax: 10)
        XCTAssertEqual(e[1], 1, accuracy: 1e-12)
        XCTAssertEqual(e.last, 0)
    }

    func testCustomSigmasAndErrors() throws {
        let cfg = SchedulerConfig()
        let s = try SamplingSchedule(config: cfg, steps: 3, family: .euler, spacing: .custom([14, 3, 0.5]))
        XCTAssertEqual(s.sigmas, [14, 3, 0.5, 0])
        XCTAssertEqual(s.timesteps.count, 3)
        XCTAssertGreaterThan(s.timesteps[0], s.timesteps[1])
        XCTAssertThrowsError(try SamplingSchedule(config: cfg, steps: 3, family: .euler, spacing: .custom([1, 2])))
        XCTAssertThrowsError(try SamplingSchedule(config: cfg, steps: 0, family: .euler)) { e in
            XCTAssertTrue((e as! TweedieError).message.contains("--steps"))
        }
    }

    func testSigmaTimestepRoundTrip() {
        let table = VPSigmaTable(alphasCumprod: NoiseSchedule.alphasCumprod(SchedulerConfig()))
        for t in [0.0, 1.0, 17.25, 500.5, 998.0, 999.0] {
            XCTAssertEqual(table.timestep(forSigma: table.sigma(forTimestep: t)), t, accuracy: 1e-9)
        }
        XCTAssertEqual(table.timestep(forSigma: 1e-6), 0)
        XCTAssertEqual(table.timestep(forSigma: 1e6), 999)
    }
}
