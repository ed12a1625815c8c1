import Foundation
import XCTest
import Tweedie

/// Hostile and careless input to `tweedie generate` and `tweedie info` (issue 17): resource caps checked before
/// allocation, NaN and infinity refused or caught, outputs checked before sampling, whole-run atomicity. Each
/// case is one line on stderr naming the file, field or flag, and no file written.
final class ReliabilityTests: XCTestCase {
    private let model = GenerateCLI.fixture("unet_cond")

    /// A copy of a fixture model in a fresh directory, for editing.
    private func copyOfModel(_ name: String = "unet_cond", in dir: URL) throws -> URL {
        let copy = dir.appendingPathComponent("model-\(name)")
        try FileManager.default.copyItem(at: GenerateCLI.fixtures.appendingPathComponent(name), to: copy)
        return copy
    }

    /// Replaces `old` by `new` in a text file (the test fails when `old` is absent).
    private func edit(_ file: URL, _ old: String, _ new: String) throws {
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertTrue(text.contains(old), "\(old) not in \(file.path)")
        try text.replacingOccurrences(of: old, with: new).write(to: file, atomically: true, encoding: .utf8)
    }

    /// Overwrites the first values of tensor `name` in a safetensors file with `values` (F32 tensors only).
    static func overwrite(_ file: URL, tensor name: String, with values: [Float]) throws {
        var data = try Data(contentsOf: file)
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
        let entry = try XCTUnwrap(header[name] as? [String: Any])
        XCTAssertEqual(entry["dtype"] as? String, "F32")
        let begin = 8 + length + ((entry["data_offsets"] as! [Any])[0] as! NSNumber).intValue
        for (k, v) in values.enumerated() {
            withUnsafeBytes(of: v.bitPattern.littleEndian) { data.replaceSubrange((begin + 4 * k)..<(begin + 4 * k + 4), with: $0) }
        }
        try data.write(to: file)
    }

    /// Runs `tweedie <args>` in `dir` and checks the failure contract: exit `status`, one stderr line holding
    /// every `mentions`, nothing on stdout, and the directory holding only `keep`.
    @discardableResult
    private func assertFails(_ args: [String], status: Int32 = 2, mentions: [String], in dir: URL,
                             keep: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws
        -> GenerateCLI.Result {
        let r = try GenerateCLI.run(args, in: dir)
        XCTAssertEqual(r.status, status, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "expected one line, got: \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssertTrue(r.stderr.contains(m), "'\(m)' not in: \(r.stderr)", file: file, line: line) }
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        XCTAssertEqual(GenerateTesting.files(dir), keep.sorted(), "files written", file: file, line: line)
        return r
    }

    // MARK: Resource caps

    func testHugeSampleSizeIsRefusedBeforeAllocation() throws {
        let dir = try GenerateTesting.tempDir(self)
        let m = try copyOfModel(in: dir)
        try edit(m.appendingPathComponent("config.json"), "\"sample_size\": 16", "\"sample_size\": 1000000")
        try assertFails(["generate", "-m", m.path, "--quiet", "-o", "x.png"],
                        mentions: ["config.json", "sample_size", "1000000", "4096"], in: dir, keep: [m.lastPathComponent])
    }

    func testBatchCountAndBatchSizeCaps() throws {
        let dir = try GenerateTesting.tempDir(self)
        try assertFails(["generate", "-m", model, "-b", "2000000", "-o", "x%d.png"], mentions: ["--batch-count", "1000000"],
                        in: dir)
        try assertFails(["generate", "-m", model, "-b", "4", "--batch-size", "0", "-o", "x%d.png"],
                        mentions: ["--batch-size"], in: dir)
        try assertFails(["generate", "-m", model, "-b", "5000", "--grid", "g.png", "-o", "x%d.png"],
                        mentions: ["--grid", "4096"], in: dir)
        try assertFails(["generate", "-m", model, "--steps", "20000", "-o", "x.png"], mentions: ["--steps", "10000"],
                        in: dir)
    }

    /// A large -b runs in chunks of --batch-size: the PNGs, grid and tensor are byte for byte those of one batch.
    func testChunkedRunEqualsOneBatch() throws {
        let dir = try GenerateTesting.tempDir(self)
        for (name, size) in [("a", "2"), ("b", "5")] {
            let r = try GenerateCLI.run(["generate", "-m", model, "--quiet", "--steps", "3", "-b", "5", "--batch-size", size,
                                         "--seed", "7", "-o", "\(name)%d.png", "--grid", "\(name)-grid.png",
                                         "--save-tensor", "\(name).safetensors"], in: dir)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        for suffix in ["0.png", "1.png", "2.png", "3.png", "4.png", "-grid.png", ".safetensors"] {
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("a" + suffix)),
                           try Data(contentsOf: dir.appendingPathComponent("b" + suffix)), suffix)
        }
    }

    func testHugeTrainTimestepsAndBadBetasNameTheSchedulerConfig() throws {
        let dir = try GenerateTesting.tempDir(self)
        let m = try copyOfModel(in: dir)
        let config = m.appendingPathComponent("scheduler_config.json")
        try edit(config, "\"num_train_timesteps\": 1000", "\"num_train_timesteps\": 1000000000")
        try assertFails(["generate", "-m", m.path, "--quiet", "-o", "x.png"],
                        mentions: ["scheduler_config.json", "num_train_timesteps", "100000"], in: dir,
                        keep: [m.lastPathComponent])
        try edit(config, "\"num_train_timesteps\": 1000000000", "\"num_train_timesteps\": 1000")
        try edit(config, "\"beta_end\": 0.012", "\"beta_end\": 1.5")
        try assertFails(["generate", "-m", m.path, "--quiet", "-o", "x.png"],
                        mentions: ["scheduler_config.json", "beta_end 1.5", "(0, 1)"], in: dir, keep: [m.lastPathComponent])
    }

    func testPadWidthIsCapped() throws {
        let dir = try GenerateTesting.tempDir(self)
        try assertFails(["generate", "-m", model, "-o", "o_%2000000000d.png"], mentions: ["-o", "pad width", "64"], in: dir)
    }

    func testThreadsAboveTheCoreCountAreCappedWithAWarning() throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try GenerateCLI.run(["generate", "-m", model, "--quiet", "--steps", "2", "-t", "100000", "-o", "t.png"],
                                    in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: --threads 100000 exceeds the \(ProcessInfo.processInfo.activeProcessorCount)"),
                      r.stderr)
        XCTAssertEqual(GenerateTesting.files(dir), ["t.png"])
    }

    // MARK: Numerics

    func testNaNWeightIsRefusedAtLoadNamingTheTensor() throws {
        let dir = try GenerateTesting.tempDir(self)
        let m = try copyOfModel(in: dir)
        try Self.overwrite(m.appendingPathComponent("diffusion_pytorch_model.safetensors"), tensor: "conv_out.bias",
                           with: [.nan])
        try assertFails(["generate", "-m", m.path, "--quiet", "-o", "x.png"],
                        mentions: ["diffusion_pytorch_model.safetensors", "'conv_out.bias'", "NaN"], in: dir,
                        keep: [m.lastPathComponent])
        try Self.overwrite(m.appendingPathComponent("diffusion_pytorch_model.safetensors"), tensor: "conv_out.bias",
                           with: [0, -.infinity])
        try assertFails(["info", m.path], mentions: ["'conv_out.bias'", "element 1 is -Inf"], in: dir,
                        keep: [m.lastPathComponent])
    }

    func testNaNInLatentsIsRefused() throws {
        let dir = try GenerateTesting.tempDir(self)
        let latents = dir.appendingPathComponent("latents.safetensors")
        try FileManager.default.copyItem(atPath: model + "/latents.safetensors", toPath: latents.path)
        try Self.overwrite(latents, tensor: "sample", with: [1, .nan])
        try assertFails(["generate", "-m", model, "--quiet", "--latents", "latents.safetensors", "-o", "x%d.png"],
                        mentions: ["latents.safetensors", "'sample'", "element 1 is NaN"], in: dir,
                        keep: ["latents.safetensors"])
    }

    func testAbsurdCFGScaleAndNonPositiveNormEpsAreRefused() throws {
        let dir = try GenerateTesting.tempDir(self)
        try assertFails(["generate", "-m", model, "--cfg-scale", "1e30", "-o", "x.png"], mentions: ["--cfg-scale", "1000"],
                        in: dir)
        let m = try copyOfModel(in: dir)
        for eps in ["-1", "0"] {
            try edit(m.appendingPathComponent("config.json"), "\"norm_eps\": 1e-05", "\"norm_eps\": \(eps)")
            try assertFails(["generate", "-m", m.path, "-o", "x.png"], mentions: ["config.json", "norm_eps"], in: dir,
                            keep: [m.lastPathComponent])
            try edit(m.appendingPathComponent("config.json"), "\"norm_eps\": \(eps)", "\"norm_eps\": 1e-05")
        }
    }

    /// Finite weights whose output overflows: the run stops after the first step with exit 1, naming the step,
    /// sigmas and settings, and writes nothing (not a black PNG).
    func testNonFiniteValuesDuringSamplingStopTheRun() throws {
        let dir = try GenerateTesting.tempDir(self)
        let m = try copyOfModel(in: dir)
        try Self.overwrite(m.appendingPathComponent("diffusion_pytorch_model.safetensors"), tensor: "conv_out.bias",
                           with: [3e38, 3e38, 3e38])
        for guidance in ["none", "cfg"] {
            try assertFails(["generate", "-m", m.path, "--quiet", "--guidance", guidance, "--steps", "4", "-b", "3",
                             "-o", "x%d.png", "--grid", "g.png", "--save-tensor", "t.safetensors"], status: 1,
                            mentions: ["at step 1/4", "(sigma ", "sampler euler_a", "guidance \(guidance)", "nothing written"],
                            in: dir, keep: [m.lastPathComponent])
        }
    }

    // MARK: Paths and atomic runs

    func testDirectoryOutputsAreRefused() throws {
        let dir = try GenerateTesting.tempDir(self)
        for (flag, value) in [("-o", "."), ("--grid", "."), ("--save-tensor", "."), ("-o", ".."), ("-o", "sub/.")] {
            try assertFails(["generate", "-m", model, "--quiet", flag, value], mentions: [flag, "directory"], in: dir)
        }
    }

    func testTwoOutputsOnOneFileAreRefused() throws {
        let dir = try GenerateTesting.tempDir(self)
        try assertFails(["generate", "-m", model, "-o", "x.png", "--save-tensor", "x.png"],
                        mentions: ["--save-tensor x.png", "same file"], in: dir)
        try assertFails(["generate", "-m", model, "-o", "x.png", "--save-tensor", "./x.png"],
                        mentions: ["--save-tensor ./x.png", "same file"], in: dir)
        try assertFails(["generate", "-m", model, "-b", "3", "-o", "x%d.png", "--grid", "x2.png"],
                        mentions: ["image 2", "--grid x2.png"], in: dir)
        try assertFails(["generate", "-m", model, "--grid", "g.png", "--save-tensor", "g.png"],
                        mentions: ["--save-tensor g.png", "--grid g.png"], in: dir)
    }

    /// A legal 240-character name works (its temporary twin is shortened); names past the file system's limit,
    /// for any image of the run, are refused before sampling.
    func testLongFileNames() throws {
        let dir = try GenerateTesting.tempDir(self)
        let long = String(repeating: "a", count: 236) + ".png"
        let r = try GenerateCLI.run(["generate", "-m", model, "--quiet", "--steps", "2", "-o", long], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(GenerateTesting.files(dir), [long])
        try FileManager.default.removeItem(at: dir.appendingPathComponent(long))
        // Image 9's name is 255 bytes, image 10's 256: the run is refused before image 9 is written.
        let edge = String(repeating: "b", count: 250) + "%d.png"
        try assertFails(["generate", "-m", model, "--quiet", "--steps", "2", "-b", "2", "--start-index", "9", "-o", edge],
                        mentions: ["-o", "256 bytes", "255"], in: dir)
    }

    /// A run that fails in its second chunk removes the first chunk's images; --keep-partial keeps them.
    func testAFailedChunkRemovesWhatTheRunWrote() throws {
        let dir = try GenerateTesting.tempDir(self)
        // Four latents; the third (the second chunk's first) holds a NaN.
        let noise = Tensor(shape: [4, 3, 16, 16], data: (0..<(4 * 768)).map { Float(($0 * 7919) % 13) / 13 - 0.5 })
        let latents = dir.appendingPathComponent("l.safetensors")
        try SafeTensorsWriter.write([("sample", noise)], to: latents.path)
        try Self.overwrite(latents, tensor: "sample", with: Array(noise.data[0..<(2 * 768)]) + [.nan])
        // A file already at an output path is left as it was.
        try Data("old".utf8).write(to: dir.appendingPathComponent("x0.png"))
        try assertFails(["generate", "-m", model, "--quiet", "--steps", "2", "--latents", "l.safetensors",
                         "--batch-size", "2", "-o", "x%d.png", "--grid", "g.png"],
                        mentions: ["l.safetensors", "element 1536 is NaN"], in: dir, keep: ["l.safetensors", "x0.png"])
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("x0.png"), encoding: .utf8), "old")
        let r = try GenerateCLI.run(["generate", "-m", model, "--quiet", "--steps", "2", "--latents", "l.safetensors",
                                     "--batch-size", "2", "-o", "x%d.png", "--keep-partial"], in: dir)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("kept 2 finished files"), r.stderr)
        XCTAssertEqual(GenerateTesting.files(dir), ["l.safetensors", "x0.png", "x1.png"])
        XCTAssertNoThrow(try PNGImage.read(path: dir.appendingPathComponent("x0.png").path))
    }

    /// SIGTERM, like SIGINT, stops after the current step of a chunked run and removes the finished chunks.
    func testSIGTERMInTheSecondChunkWritesNothing() throws {
        let dir = try GenerateTesting.tempDir(self)
        let run = try GenerateCLI(["generate", "--progress", "plain", "-m", model, "--steps", "1000", "-b", "4",
                                   "--batch-size", "2", "-o", "x_%d.png"], in: dir)
        let deadline = Date().addingTimeInterval(120)
        while !run.stderrSoFar.contains("images 3-4 of 4: step 2/1000") && Date() < deadline { usleep(5_000) }
        XCTAssertTrue(run.stderrSoFar.contains("images 3-4 of 4: step 2/1000"), run.stderrSoFar)
        // --progress plain: one line per step, for logs.
        XCTAssertNotNil(run.stderrSoFar.range(of: #"\nimages 1-2 of 4: step 1000/1000  [0-9.]+ (s/it|it/s)  ETA [0-9.]+s\n"#,
                                              options: .regularExpression))
        run.terminate()
        let r = run.finish()
        XCTAssertEqual(r.status, 143, String(r.stderr.suffix(500)))
        XCTAssertTrue(r.stderr.contains("interrupted after step"), r.stderr)
        XCTAssertEqual(GenerateTesting.files(dir), [])
        XCTAssertEqual(r.stdout, "")
    }

    // MARK: Recipes of untrusted PNGs

    /// A PNG of `model` whose recipe JSON `change` edits.
    private func png(in dir: URL, named name: String, _ change: (inout [String: Any]) -> Void) throws -> String {
        let r = try GenerateCLI.run(["generate", "-m", model, "--quiet", "--steps", "2", "--seed", "5", "-o", name], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let path = dir.appendingPathComponent(name).path
        let (image, text) = try PNGImage.read(path: path)
        var recipe = try JSONSerialization.jsonObject(with: Data(textValue("tweedie", in: text)!.utf8)) as! [String: Any]
        change(&recipe)
        let json = String(decoding: try JSONSerialization.data(withJSONObject: recipe, options: [.sortedKeys]), as: UTF8.self)
        try image.write(to: path, text: text.map { $0.key == "tweedie" ? (key: $0.key, value: json) : $0 })
        return name
    }

    private func setting(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
        { recipe in
            var s = recipe["settings"] as! [String: Any]
            s[key] = value
            recipe["settings"] = s
        }
    }

    func testHostileRecipesGiveOneLineErrors() throws {
        let dir = try GenerateTesting.tempDir(self)
        let interval = try png(in: dir, named: "interval.png", setting("guidance_interval", [0.5]))
        try assertFails(["info", interval], mentions: ["interval.png", "guidance_interval", "[START, STOP]"], in: dir,
                        keep: ["interval.png"])
        let seed = try png(in: dir, named: "seed.png", setting("seed", -1))
        try assertFails(["generate", "--from", seed, "-m", model, "-o", "x.png"],
                        mentions: ["seed.png", "settings.seed -1"], in: dir, keep: ["interval.png", "seed.png"])
        let batch = try png(in: dir, named: "batch.png", setting("batch_count", 1_000_000))
        try assertFails(["generate", "--from", batch, "-m", model, "-o", "x%d.png"],
                        mentions: ["batch.png", "batch_count 1000000"], in: dir,
                        keep: ["batch.png", "interval.png", "seed.png"])
    }

    /// --from takes the PNG's settings but not its paths: the model comes from -m (or the bundled one) and must
    /// have the weights that made it; the stored model and latents paths are followed only with --trust-paths.
    func testFromTreatsThePNGAsUntrusted() throws {
        let dir = try GenerateTesting.tempDir(self)
        let secret = dir.appendingPathComponent("secret.txt")
        try Data("not for a PNG to read\n".utf8).write(to: secret)
        // An earlier build's recipe: absolute model and latents paths.
        let old = try png(in: dir, named: "old.png") { recipe in
            var m = recipe["model"] as! [String: Any]
            m["path"] = self.model
            recipe["model"] = m
            var s = recipe["settings"] as! [String: Any]
            s["latents"] = secret.path
            s["latents_offset"] = 0
            recipe["settings"] = s
        }
        let keep = ["old.png", "secret.txt"]
        // No -m: the bundled model, whose weights differ.
        try assertFails(["generate", "--from", old, "--quiet", "-o", "x.png"],
                        mentions: ["--from old.png", "sha256", "unet_cond", "--allow-other-weights"], in: dir, keep: keep)
        // The stored latents path is not read without --trust-paths, and its content is never echoed.
        let r = try assertFails(["generate", "--from", old, "-m", model, "-o", "x.png"],
                                mentions: ["secret.txt", "--latents FILE", "--trust-paths"], in: dir, keep: keep)
        XCTAssertFalse(r.stderr.contains(dir.path), r.stderr)
        let trusted = try GenerateCLI.run(["generate", "--from", old, "--trust-paths", "-o", "x.png"], in: dir)
        XCTAssertEqual(trusted.status, 2, trusted.stderr)
        XCTAssertTrue(trusted.stderr.contains("secret.txt: header"), trusted.stderr)
        XCTAssertFalse(trusted.stderr.contains("not for a PNG"), trusted.stderr)
        // Other weights on purpose: a warning, shown even with --quiet.
        let plain = try png(in: dir, named: "plain.png") { _ in }
        let other = try GenerateCLI.run(["generate", "--from", plain, "--allow-other-weights", "--quiet",
                                         "-m", GenerateCLI.fixture("unet_ddim"), "-o", "x.png"], in: dir)
        XCTAssertTrue(other.stderr.contains("warning: --from plain.png"), other.stderr)
        XCTAssertTrue(other.stderr.contains("will not match"), other.stderr)
    }

    func testNegativeNumbersGetTheRightMessage() throws {
        let dir = try GenerateTesting.tempDir(self)
        for (flag, message) in [("--steps", "--steps must be at least 1, got -1"),
                                ("-b", "--batch-count must be at least 1, got -1"),
                                ("--start-index", "--start-index must be >= 0, got -1"),
                                ("--cfg-scale", "--cfg-scale must be a number in [0, 1000], got -1.0"),
                                ("--threads", "--threads: must be at least 1, got -1")] {
            try assertFails(["generate", "-m", model, flag, "-1", "-o", "x.png"], mentions: [message], in: dir)
        }
    }
}
