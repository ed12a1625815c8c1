import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieTestSupport
import TweedieTuning

/// A whole run: resumed after an interruption it ends with the logits of an uninterrupted run; bad input is
/// `badInput` with one line naming it.
final class PruningRunTests: XCTestCase {
    private func settings(_ model: String) -> PruningSettings {
        var s = PruningSettings()
        s.model = model
        s.calibration = 3
        s.batch = 1
        s.accumulate = 2
        s.steps = 3
        s.samplingSteps = 2
        s.checkpointEvery = 1
        return s
    }

    private func run(_ dir: String, _ s: PruningSettings, out: String, resume: Bool = false) throws -> PruningRun {
        let m = try ModelFolder.load(s.model)
        return try PruningRun(model: m, scheduler: SchedulerConfig(), nullClass: 2, classOf: { $0 % 2 }, settings: s,
                              outDirectory: (dir as NSString).appendingPathComponent(out), resume: resume)
    }

    private func message(_ body: () throws -> Void) -> String {
        do { try body() } catch let e as TweedieError {
            XCTAssertEqual(e.exitCode, 2, e.message)
            XCTAssertFalse(e.message.contains("\n"), e.message)
            return e.message
        } catch { XCTFail("\(error)") }
        XCTFail("no error")
        return ""
    }

    func testResumedRunEndsWithTheUninterruptedLogitsAndExports() throws {
        let dir = try PruningFixtures.tempDir(self)
        _ = try PruningFixtures.model(PruningFixtures.dit, in: dir)
        let s = settings((dir as NSString).appendingPathComponent("base"))
        let whole = try run(dir, s, out: "whole")
        let summary = try XCTUnwrap(try whole.run())
        XCTAssertGreaterThan(summary.removedShare, 0.1)
        XCTAssertLessThan(summary.removedShare, 0.3)

        let first = try run(dir, s, out: "parts")
        XCTAssertNil(try first.run(stopAfter: 1), "stopped after one update: nothing exported")
        let second = try run(dir, s, out: "parts", resume: true)
        XCTAssertNotNil(try second.run())
        XCTAssertEqual(second.loop!.state.parameters, whole.loop!.state.parameters)
        let a = try SafeTensorsFile(path: (dir as NSString).appendingPathComponent("whole/diffusion_pytorch_model.safetensors"))
        let b = try SafeTensorsFile(path: (dir as NSString).appendingPathComponent("parts/diffusion_pytorch_model.safetensors"))
        XCTAssertEqual(a.names, b.names)
        for n in a.names { XCTAssertEqual(try a.tensor(n), try b.tensor(n), n) }
    }

    func testBadInputIsOneLine() throws {
        let dir = try PruningFixtures.tempDir(self)
        _ = try PruningFixtures.model(PruningFixtures.unet, in: dir)
        var s = settings((dir as NSString).appendingPathComponent("base"))
        for r in [0.0, 1.0, -0.2, 1.5, .nan] {
            s.ratio = r
            XCTAssertTrue(message { _ = try run(dir, s, out: "x") }.contains("--ratio"))
        }
        s.ratio = 0.2
        XCTAssertNil(try run(dir, s, out: "r").run(stopAfter: 1))
        XCTAssertTrue(message { _ = try run(dir, s, out: "r") }.contains("--resume"), "an --out holding a run")
        var other = s
        other.learningRate = 0.2
        let m = message { _ = try run(dir, other, out: "r", resume: true) }
        XCTAssertTrue(m.contains("--lr 0.1") && m.contains("--lr 0.2"), m)
        other = s
        other.ratio = 0.3
        XCTAssertTrue(message { _ = try run(dir, other, out: "r", resume: true) }.contains("--ratio 0.2"))

        // A model kind with no prunable units: the judge (a classifier).
        let judge = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("assets/classifier32/shape").path
        let classifier = try ModelFolder.load(judge)
        s.model = judge
        let k = message {
            _ = try PruningRun(model: classifier, scheduler: SchedulerConfig(), nullClass: nil, classOf: { _ in nil },
                               settings: s, outDirectory: (dir as NSString).appendingPathComponent("c"), resume: false)
        }
        XCTAssertTrue(k.contains("no prunable units"), k)
    }
}
