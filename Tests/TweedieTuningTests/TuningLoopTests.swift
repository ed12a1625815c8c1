import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieTraining
import TweedieTuning

/// The shared loop on a quadratic objective with keyed noise: accumulation averages micro-batches, clipping caps
/// the norm, a stopped and resumed run equals an uninterrupted one, and a NaN stops the run naming the update.
final class TuningLoopTests: XCTestCase {
    /// loss = ½‖θ − target(step, micro)‖², with a target that depends on the key (like a sampled batch).
    final class Quadratic: TuningObjective {
        let metricNames = ["distance"]
        var poison = false
        func target(_ step: Int, _ micro: Int) -> Tensor {
            uniformTensor([3], seed: UInt64(step * 10 + micro), -1, 1)
        }
        func evaluate(_ p: TuningParameters, step: Int, microBatch: Int) throws -> TuningEvaluation {
            let d = TweedieCore.sub(p.values[0], target(step, microBatch))
            let loss = poison ? .nan : d.data.reduce(0.0) { $0 + 0.5 * Double($1 * $1) }
            return TuningEvaluation(loss: loss, gradients: [d], metrics: ["distance": loss.squareRoot()])
        }
    }

    private func loop(_ out: String, steps: Int = 5, resume: Bool = false, clip: Float? = nil,
                      objective: Quadratic = Quadratic()) throws -> TuningLoop {
        let p = try TuningParameters([("theta", Tensor(shape: [3], data: [2, -2, 0.5]))])
        return try TuningLoop(parameters: p, optimizer: AdamW(parameters: p.values, learningRate: 0.1),
                              objective: objective,
                              settings: TuningLoopSettings(steps: steps, accumulate: 2, maxGradNorm: clip, checkpointEvery: 2),
                              directory: out, metadata: ["method": "quadratic"], resume: resume)
    }

    func testResumeEqualsUninterruptedAndTheLogContinues() throws {
        let a = try scratchDirectory("loop-a"), b = try scratchDirectory("loop-b")
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        let whole = try loop(a)
        try whole.run()
        let first = try loop(b)
        XCTAssertFalse(try first.run(stopAfter: 3))
        XCTAssertEqual(first.state.step, 3)
        let second = try loop(b, resume: true)
        try second.run()
        XCTAssertEqual(whole.state.parameters, second.state.parameters)
        XCTAssertEqual(whole.optimizer.stepCount, second.optimizer.stepCount)
        let rows = TuningLog.read(b + "/log.csv")
        XCTAssertEqual(rows.map { $0["step"] }, [1, 2, 3, 4, 5])
        XCTAssertEqual(rows.map { $0["loss"] }, TuningLog.read(a + "/log.csv").map { $0["loss"] })
        XCTAssertEqual(TuningCheckpoint.list(b + "/checkpoints").count, 2, "the newest two are kept")
        XCTAssertEqual(try TuningCheckpoint.metadata(TuningCheckpoint.newest(in: b + "/checkpoints")!)["method"], "quadratic")
    }

    func testAccumulationAveragesAndClippingCaps() throws {
        let out = try scratchDirectory("loop-clip")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let q = Quadratic()
        let l = try loop(out, clip: 0.01, objective: q)
        let u = try l.update()
        let t0 = q.target(0, 0), t1 = q.target(0, 1)
        let theta: [Float] = [2, -2, 0.5]
        let mean = (0..<3).map { theta[$0] - (t0.data[$0] + t1.data[$0]) / 2 }
        XCTAssertEqual(Double(u.gradNorm), Double(mean.map { $0 * $0 }.reduce(0, +)).squareRoot(), accuracy: 1e-5)
        // AdamW's first step moves each coordinate by lr whatever the (clipped) gradient's size.
        XCTAssertEqual(l.state.parameters.values[0].data[0], 2 * (1 - 0.1 * 0.01) - 0.1, accuracy: 1e-5)
    }

    func testANonFiniteLossStopsTheRunNamingTheUpdate() throws {
        let out = try scratchDirectory("loop-nan")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let q = Quadratic()
        q.poison = true
        XCTAssertThrowsError(try loop(out, objective: q).run()) { error in
            guard let e = error as? TweedieError, e.exitCode == 1 else { return XCTFail("\(error)") }
            let m = e.message
            XCTAssert(m.contains("update 1") && m.contains("non-finite loss"), m)
        }
    }
}
