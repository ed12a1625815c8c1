import Foundation
import XCTest
import TweedieCore
import TweedieSamplers

final class ConfigTests: XCTestCase {
    func parse(_ json: String) throws -> SchedulerConfig {
        let d = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        return try SchedulerConfig(dictionary: d, source: "scheduler_config.json")
    }

    func testReadsDiffusersFieldsFromFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-sched-\(getpid()).json").path
        try Data("""
        {"_class_name": "DDIMScheduler", "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
         "beta_schedule": "scaled_linear", "prediction_type": "v_prediction", "timestep_spacing": "trailing",
         "steps_offset": 1, "clip_sample": false, "set_alpha_to_one": false, "use_karras_sigmas": true,
         "trained_betas": null, "variance_type": "learned_range"}
        """.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try SchedulerConfig(path: path)
        XCTAssertEqual(c.className, "DDIMScheduler")
        XCTAssertEqual(c.betaSchedule, .scaledLinear)
        XCTAssertEqual(c.predictionType, .vPrediction)
        XCTAssertEqual(c.timestepSpacing, .trailing)
        XCTAssertEqual(c.stepsOffset, 1)
        XCTAssertFalse(c.clipSample)
        XCTAssertFalse(c.setAlphaToOne)
        XCTAssertTrue(c.useKarrasSigmas)
        XCTAssertNil(c.trainedBetas)
        XCTAssertEqual(c.varianceType, "learned_range")
    }

    func testClassDefaults() throws {
        let ddpm = try parse(#"{"_class_name": "DDPMScheduler"}"#)
        XCTAssertEqual(ddpm.timestepSpacing, .leading)
        XCTAssertTrue(ddpm.clipSample)
        let euler = try parse(#"{"_class_name": "EulerDiscreteScheduler"}"#)
        XCTAssertEqual(euler.timestepSpacing, .linspace)
        XCTAssertFalse(euler.clipSample)
    }

    func testErrorsNameTheKey() {
        for (json, key) in [(#"{"beta_start": "small"}"#, "beta_start"), (#"{"beta_schedule": "quadratic"}"#, "beta_schedule"),
                            (#"{"clip_sample": 1}"#, "clip_sample"), (#"{"num_train_timesteps": 10.5}"#, "num_train_timesteps"),
                            (#"{"rescale_betas_zero_snr": true}"#, "rescale_betas_zero_snr")] {
            XCTAssertThrowsError(try parse(json)) { e in
                let err = e as! TweedieError
                XCTAssertEqual(err.exitCode, 2)
                XCTAssertTrue(err.message.contains(key) && err.message.contains("scheduler_config.json"), err.message)
            }
        }
        XCTAssertThrowsError(try SchedulerConfig(path: "/nonexistent/scheduler_config.json"))
    }
}
