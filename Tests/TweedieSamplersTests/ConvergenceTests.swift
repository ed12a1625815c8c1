import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieSamplers

/// Convergence order on Gaussian data N(mu, s^2), whose exact denoiser is D(x, sigma) = (s^2 x + sigma^2 mu)/(s^2 + sigma^2)
/// and whose probability-flow ODE has the closed-form solution x(sigma) = mu + (x_T - mu) sqrt(s^2 + sigma^2)/sqrt(s^2 + sigma_T^2).
/// Runs stop at sigma_min > 0 (no final jump to 0, whose fixed size would hide the order).
final class ConvergenceTests: XCTestCase {
    let mu = 0.3, s = 0.5, sigmaMax = 10.0, sigmaMin = 0.1

    var denoiser: Denoiser {
        let (mu, s2) = (Float(mu), Float(s * s))
        return ClosureDenoiser { x, sigma, _ in
            let sg2 = sigma * sigma
            return Tensor(shape: x.shape, data: x.data.map { (s2 * $0 + sg2 * mu) / (s2 + sg2) })
        }
    }

    /// Max error at sigma_min over a spread of starting points, for `steps` steps of an exponential schedule.
    func error(_ sampler: Sampler, steps: Int) throws -> Double {
        let starts = (0..<16).map { mu + sigmaMax * (Double($0) / 7.5 - 1) * 1.5 }
        let x = Tensor(shape: [16, 1], data: starts.map { Float($0) })
        let sigmas = SamplingSchedule.exponential(steps: steps + 1, sigmaMin: sigmaMin, sigmaMax: sigmaMax)
            .dropLast().map { Float($0) }
        let out = try sampler(denoiser, x, sigmas, .unconditional, NoNoise(), ignoreSteps)
        let ratio = (s * s + sigmaMin * sigmaMin).squareRoot() / (s * s + sigmaMax * sigmaMax).squareRoot()
        return nanMax(zip(out.data, starts).map { abs(Double($0) - (mu + ($1 - mu) * ratio)) })
    }

    /// Least-squares slope of log(error) against log(1/steps).
    func order(_ sampler: Sampler, steps: [Int]) throws -> Double {
        let xs = steps.map { -log(Double($0)) }
        let ys = try steps.map { log(try error(sampler, steps: $0)) }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let num = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
        return num / xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
    }

    func testFirstOrderSamplers() throws {
        for (name, sampler) in [("euler", Samplers.euler as Sampler), ("ddim", Samplers.ddim(eta: 0))] {
            let p = try order(sampler, steps: [20, 40, 80, 160])
            print("order \(name): \(p)")
            XCTAssertTrue((0.8...1.3).contains(p), "\(name) order \(p)")
        }
    }

    func testSecondOrderSamplers() throws {
        for (name, sampler) in [("heun", Samplers.heun as Sampler), ("dpm2", Samplers.dpm2),
                                ("dpmpp_2m", Samplers.dpmpp2m)] {
            let p = try order(sampler, steps: [20, 40, 80, 160])
            print("order \(name): \(p)")
            XCTAssertTrue((1.7...2.4).contains(p), "\(name) order \(p)")
        }
    }
}
