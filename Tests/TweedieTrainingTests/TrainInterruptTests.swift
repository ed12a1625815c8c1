import Foundation
import XCTest
import TweedieCore
import TweedieModels
import TweedieTestSupport

/// SIGINT and SIGTERM during `tweedie train`: the run finishes its step, checkpoints it (no half-written file),
/// exits 130 / 143, and `--resume` from there ends bit-identical to a run that was never interrupted.
final class TrainInterruptTests: XCTestCase {
    private var scratch: URL!
    private static let steps = 40

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-train-int-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// The tiny ellipse U-Net of TrainCLITests (about 50 ms a step), checkpointing every 16 steps so that the
    /// interrupts land between checkpoints and the stop itself has to write one.
    private func recipe() throws -> String {
        let recipe: [String: Any] = [
            "data": "ellipses64", "steps": Self.steps, "batch": 2, "warmup": 1, "checkpoint_every": 16,
            "sample_every": 0, "log_every": 1, "sample_steps": 2, "samples_per_class": 1, "seed": 5,
            "model": ["_class_name": "UNet2DModel", "sample_size": 64, "in_channels": 1, "out_channels": 1,
                      "block_out_channels": [8, 16], "layers_per_block": 1, "norm_num_groups": 4,
                      "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"]],
        ]
        let path = scratch.appendingPathComponent("recipe.json").path
        try JSONSerialization.data(withJSONObject: recipe, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Starts `tweedie ARGS`, sends `signal` once its log shows step `after`, and returns the exit status, stderr
    /// and the step the run reported stopping at.
    private func interrupted(_ arguments: [String], after: Int, signal: Int32) throws -> (status: Int32, stderr: String, step: Int?) {
        let process = Process()
        process.executableURL = TestEnvironment.cliBinary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let seen = LockedText()
        out.fileHandleForReading.readabilityHandler = { seen.append($0.availableData) }
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !seen.text.contains("step \(after)/\(Self.steps) ") && process.isRunning && Date() < deadline { usleep(2_000) }
        kill(process.processIdentifier, signal)
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        let stderr = String(decoding: e, as: UTF8.self)
        let step = stderr.range(of: #"interrupted at step \d+"#, options: .regularExpression)
            .flatMap { Int(stderr[$0].split(separator: " ").last ?? "") }
        return (process.terminationStatus, stderr, step)
    }

    func testInterruptedAndResumedRunEqualsAnUninterruptedOne() throws {
        let recipe = try recipe()
        let straight = scratch.appendingPathComponent("straight").path, split = scratch.appendingPathComponent("split").path
        let whole = try ClassifierCLITests.tweedie(["train", "--recipe", recipe, "--out", straight, "--threads", "1"])
        XCTAssertEqual(whole.status, 0, whole.stderr)

        // SIGINT at about step 3, SIGTERM a few steps into the resumed session, then resume to the end.
        let first = try interrupted(["train", "--recipe", recipe, "--out", split, "--threads", "1"], after: 3, signal: SIGINT)
        XCTAssertEqual(first.status, 130, first.stderr)
        let k1 = try XCTUnwrap(first.step, first.stderr)
        XCTAssert((3..<Self.steps).contains(k1), first.stderr)
        try assertCheckpoints(split, newest: k1)
        let second = try interrupted(["train", "--out", split, "--resume", "--threads", "1"], after: k1 + 2, signal: SIGTERM)
        XCTAssertEqual(second.status, 143, second.stderr)
        let k2 = try XCTUnwrap(second.step, second.stderr)
        XCTAssert((k1 + 2..<Self.steps).contains(k2), second.stderr)
        try assertCheckpoints(split, newest: k2)
        let last = try ClassifierCLITests.tweedie(["train", "--out", split, "--resume", "--threads", "1"])
        XCTAssertEqual(last.status, 0, last.stderr)

        // Weights, EMA and optimiser state bit for bit, and the same counters (only the wall time differs).
        let name = String(format: "checkpoints/step-%08d.safetensors", Self.steps)
        let a = try SafeTensorsFile(path: (straight as NSString).appendingPathComponent(name))
        let b = try SafeTensorsFile(path: (split as NSString).appendingPathComponent(name))
        XCTAssertEqual(a.names.sorted(), b.names.sorted())
        XCTAssert(a.names.contains { $0.hasPrefix("optim/") } && a.names.contains { $0.hasPrefix("ema/") })
        for tensor in a.names { XCTAssertEqual(try a.tensor(tensor).data, try b.tensor(tensor).data, tensor) }
        for key in ["step", "data_position", "ema_updates", "optimizer_steps", "recipe"] {
            XCTAssertEqual(a.metadata[key], b.metadata[key], key)
        }
        let exported = "model/diffusion_pytorch_model.safetensors"
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: (straight as NSString).appendingPathComponent(exported))),
                       try Data(contentsOf: URL(fileURLWithPath: (split as NSString).appendingPathComponent(exported))))
    }

    /// The newest checkpoint is the step the run stopped at, it reads back whole, and no temporary file is left.
    private func assertCheckpoints(_ out: String, newest step: Int, line: UInt = #line) throws {
        let dir = (out as NSString).appendingPathComponent("checkpoints")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertEqual(files.last, String(format: "step-%08d.safetensors", step), "\(files)", line: line)
        XCTAssert(files.allSatisfy { $0.hasSuffix(".safetensors") }, "leftover files: \(files)", line: line)
        let file = try SafeTensorsFile(path: (dir as NSString).appendingPathComponent(files.last ?? ""))
        XCTAssertEqual(file.metadata["step"], String(step), line: line)
        for name in file.names { _ = try file.tensor(name) }
    }
}

/// Text appended from a pipe's handler thread and read from the test's.
private final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) { lock.lock(); data.append(more); lock.unlock() }

    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
