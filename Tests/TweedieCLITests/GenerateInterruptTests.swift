import Foundation
import XCTest
import Tweedie

/// Ctrl-C during `tweedie generate`: the run stops after the current step, writes nothing and exits 130; the
/// progress line reports steps, speed and ETA.
final class GenerateInterruptTests: XCTestCase {
    func testSIGINTStopsAfterTheCurrentStepAndWritesNothing() throws {
        let dir = try GenerateTesting.tempDir(self)
        // 1000 steps take far longer than the test waits; --progress bar forces the progress line without a terminal.
        let run = try GenerateCLI(["generate", "--progress", "bar", "-m", GenerateCLI.fixture("unet_cond"), "--steps", "1000",
                                   "--sampler", "ddim", "-b", "2", "-o", "x_%d.png", "--grid", "g.png",
                                   "--save-tensor", "t.safetensors"], in: dir)
        let deadline = Date().addingTimeInterval(60)
        while !run.stderrSoFar.contains("step 2/1000") && Date() < deadline { usleep(5_000) }
        XCTAssertTrue(run.stderrSoFar.contains("step 2/1000"), "no progress: \(run.stderrSoFar)")
        run.interrupt()
        let r = run.finish()
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertTrue(r.stderr.contains("interrupted after step"), r.stderr)
        XCTAssertFalse(r.stderr.contains("step 1000/1000"), r.stderr)
        XCTAssertTrue(r.stderr.range(of: #"step \d+/1000  [0-9.]+ (s/it|it/s)  ETA [0-9.]+s"#, options: .regularExpression)
                      != nil, r.stderr)
        XCTAssertEqual(GenerateTesting.files(dir), [])
        XCTAssertEqual(r.stdout, "")
    }

    func testQuietRunPrintsNoProgress() throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try GenerateCLI.run(["generate", "--progress", "bar", "--quiet", "-m", GenerateCLI.fixture("unet_cond"),
                                     "--steps", "3", "--seed", "1", "-o", "q.png"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        XCTAssertTrue(r.stdout.contains("q.png  seed 1"), r.stdout)
    }
}
