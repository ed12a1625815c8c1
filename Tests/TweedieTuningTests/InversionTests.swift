import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieTestSupport
import TweedieTuning

/// Textual inversion on the tiny U-Net: the row's gradient against finite differences, the ZO estimate against it,
/// a short run of each method lowering the loss, the embedding file and an exact resume of the subspace.
final class InversionTests: XCTestCase {
    /// Four 8x8 references of a made-up concept (smooth colour ramps), deterministic.
    private func references() -> Tensor {
        Tensor(shape: [4, 3, 8, 8], data: (0..<(4 * 3 * 64)).map { i in
            let n = i / 192, c = (i / 64) % 3, y = (i / 8) % 8, x = i % 8
            return Float(sin(Double(x + 2 * y + 3 * c + 5 * n) / 4)) * 0.8
        })
    }

    private func problem(_ model: UNet2DModel, batch: Int = 2) throws -> InversionProblem {
        let id = try model.appendClassRow(model.classRow(0))
        let alphas = NoiseSchedule.alphasCumprod(TinyModel.scheduler())
        return try InversionProblem(model: model, conceptID: id, images: references(), alphasCumprod: alphas,
                                    prediction: .epsilon, band: PartialUniformTimesteps.band(for: alphas), batch: batch,
                                    seed: 3)
    }

    func testRowGradientMatchesFiniteDifferencesAndTheZOEstimate() throws {
        let model = try TinyModel.unet()
        let p = try problem(model)
        XCTAssertEqual(p.conceptID, 4)
        let theta = model.classRow(p.conceptID).flatMap(\.data)
        let draw = try p.draw(step: 0)
        let (loss, g) = try p.lossAndGradient(theta, draw)
        XCTAssertEqual(loss, try p.loss(theta, draw), accuracy: 1e-6 * loss, "tape and inference passes agree")
        let err = try finiteDifferenceError(Tensor(shape: [theta.count], data: theta),
                                            Tensor(shape: [g.count], data: g), indices: [0, 5, 17], directions: 3,
                                            h: 1e-2) { try p.loss($0.data, draw) }
        // Measured 4.3e-5 (float32 forward, five-point differences).
        assertMeasured(err, tolerance: 5e-4, "class row gradient vs finite differences")

        // Many directions: the forward-difference mean points along the exact gradient.
        let e = try ForwardDifference(directions: 512, mu: 1e-3)
            .estimate(at: theta, step: 0, stream: GaussianDirections(seed: 9, dimension: theta.count)) { try p.loss($0, draw) }
        let dot = zip(e.gradient, g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let ng = g.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let ne = e.gradient.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        // Measured 1 - cosine 2.0e-2 with 512 directions in 32 dimensions.
        assertMeasured(1 - dot / (ng * ne), tolerance: 0.2, "1 - cosine(ZO estimate, backprop gradient)")
    }

    func testDrawsAreAFunctionOfTheStep() throws {
        let p = try problem(try TinyModel.unet())
        let a = try p.draw(step: 5), b = try p.draw(step: 5), c = try p.draw(step: 6)
        XCTAssertEqual(a.noisy.data, b.noisy.data)
        XCTAssertEqual(a.timesteps, b.timesteps)
        XCTAssertNotEqual(a.noisy.data, c.noisy.data)
        XCTAssertTrue(a.timesteps.allSatisfy { p.band.contains($0) })
        XCTAssertEqual(Set(a.imageIndices).count, 2)
    }

    /// The mean loss over fixed draws, at the model's current concept row.
    private func heldLoss(_ run: TextualInversion) throws -> Double {
        let theta = run.problem.model.classRow(run.conceptID).flatMap(\.data)
        return try (100..<116).reduce(0.0) { $0 + (try run.problem.loss(theta, try run.problem.draw(step: $1))) } / 16
    }

    func testShortInversionLowersTheLoss() throws {
        for method in InversionSettings.Method.allCases {
            let dir = try scratchDirectory("invert")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var s = InversionSettings()
            s.method = method
            s.steps = 30
            s.batch = 4
            s.tau = 8
            s.learningRate = method == .zo ? 0.3 : 3e-2
            let run = try TextualInversion(model: try TinyModel.unet(), scheduler: TinyModel.scheduler(),
                                           images: references(), settings: s, runDirectory: dir)
            let before = try heldLoss(run)
            try run.run()
            let after = try heldLoss(run)
            XCTAssertLessThan(after, before, "\(method): held-out loss \(before) -> \(after)")
            XCTAssertEqual(run.problem.forwardPasses - 32, method == .zo ? 30 * 3 : 30, "\(method): passes per step")
            if method == .zo { XCTAssertLessThan(run.subspace!.effectiveDimension, run.problem.dimension) }
        }
    }

    func testEmbeddingFileRoundTripsAndRefusesAnotherWidth() throws {
        let dir = try scratchDirectory("embedding")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = try TinyModel.unet()
        let row = Tensor(shape: [model.classEmbeddingWidths[0]], data: (0..<model.classEmbeddingWidths[0]).map { Float($0) / 10 })
        let path = (dir as NSString).appendingPathComponent("emb.safetensors")
        try ClassEmbeddingFile(rows: [("class_embedding.weight", row)], label: "ramp", metadata: ["method": "zo"]).write(to: path)
        let read = try ClassEmbeddingFile(path: path)
        XCTAssertEqual(read.label, "ramp")
        XCTAssertEqual(read.metadata["method"], "zo")
        XCTAssertEqual(read.rows.map(\.row.data), [row.data])
        let id = try read.apply(to: model, source: path)
        XCTAssertEqual(id, 4)
        XCTAssertEqual(model.classRow(4)[0].data, row.data)
        XCTAssertNoThrow(try model.forward(Tensor(shape: [1, 3, 8, 8]), timesteps: [10], classLabels: [4]))

        let wide = (dir as NSString).appendingPathComponent("wide.safetensors")
        try ClassEmbeddingFile(rows: [("class_embedding.weight", Tensor(shape: [7]))], label: "x").write(to: wide)
        do {
            try ClassEmbeddingFile(path: wide).apply(to: try TinyModel.unet(), source: wide)
            XCTFail("a row of another width must be refused")
        } catch let e as TweedieError {
            XCTAssertEqual(e.exitCode, 2)
            XCTAssertTrue(e.message.contains(wide) && e.message.contains("7 wide"), e.message)
        }
    }

    /// A ZO run stopped after 7 updates and resumed ends bit-identical to one run straight through: the loop's
    /// checkpoint and the subspace's snapshots (τ 4, refitted inside both halves) carry everything.
    func testResumedZORunIsBitIdentical() throws {
        var s = InversionSettings()
        s.steps = 12
        s.tau = 4
        s.batch = 2
        func run(_ dir: String, stopAfter: Int?) throws -> [Float] {
            let r = try TextualInversion(model: try TinyModel.unet(), scheduler: TinyModel.scheduler(),
                                         images: references(), settings: s, runDirectory: dir,
                                         resume: stopAfter == nil && FileManager.default.fileExists(atPath: dir + "/checkpoints"))
            try r.run(stopAfter: stopAfter)
            return r.embedding().rows.flatMap(\.row.data)
        }
        let a = try scratchDirectory("zo-a"), b = try scratchDirectory("zo-b")
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        let straight = try run(a, stopAfter: nil)
        _ = try run(b, stopAfter: 7)
        let resumed = try run(b, stopAfter: nil)
        XCTAssertEqual(straight.map(\.bitPattern), resumed.map(\.bitPattern))
    }
}
