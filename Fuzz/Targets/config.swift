import Foundation
import TweedieCore
import TweedieModels
import TweedieSamplers

/// config.json and scheduler_config.json: every config parser on the same JSON, then (when the scheduler config
/// parses) its training sigmas and a short schedule of every family, as `generate` builds them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    guard let json = try? JSONConfig(data: bytes, path: "config.json") else { return 0 }
    _ = try? UNet2DConfig(json: json)
    _ = try? DiTConfig(json: json)
    _ = try? AutoencoderKLConfig(json: json)
    _ = try? ClassifierConfig(json: json)
    guard let scheduler = try? SchedulerConfig(config: json) else { return 0 }
    let abar = NoiseSchedule.alphasCumprod(scheduler)
    precondition(abar.count == scheduler.numTrainTimesteps)
    for family in [ScheduleFamily.ddpm, .ddim, .euler, .dpmSolver] {
        for spacing in [nil, SigmaSpacing.karras(), .exponential(), .trailing] {
            _ = try? SamplingSchedule(config: scheduler, steps: 1 + size % 7, family: family, spacing: spacing)
        }
    }
    return 0
}
