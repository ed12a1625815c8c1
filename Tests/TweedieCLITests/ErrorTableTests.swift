import Foundation
import XCTest
import Tweedie

/// Runs every row of the error table in docs/errors.md: the situation its id names is prepared in a fresh
/// directory, the command runs there, and the exit code and the one-line message must be exactly the documented
/// ones (`…` in a message matches any text). A row without a situation here, or a situation without a row, fails.
final class ErrorTableTests: XCTestCase {
    struct Row {
        let id: String
        let command: [String]
        let exit: Int32
        let message: String
    }

    static var document: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/errors.md")
    }

    /// The rows between the table's markers.
    static func rows() throws -> [Row] {
        let text = try String(contentsOf: document, encoding: .utf8)
        guard let start = text.range(of: "<!-- errors-table -->"), let end = text.range(of: "<!-- /errors-table -->") else {
            throw TweedieError.badInput("docs/errors.md: no errors-table markers")
        }
        var rows: [Row] = []
        for line in text[start.upperBound..<end.lowerBound].split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.dropFirst(2).dropLast(2).components(separatedBy: " | ")
            guard cells.count == 5, let exit = Int32(cells[3]) else { continue }  // the header row
            func code(_ s: String) -> String {
                s.hasPrefix("`") && s.hasSuffix("`") ? String(s.dropFirst().dropLast()) : s
            }
            let words = code(cells[2]).split(separator: " ").map(String.init)
            XCTAssertEqual(words.first, "tweedie", cells[0])
            rows.append(Row(id: cells[0], command: Array(words.dropFirst()), exit: exit, message: code(cells[4])))
        }
        return rows
    }

    /// Whether `text` matches `pattern` in full, where "…" matches any run of characters.
    static func matches(_ text: String, _ pattern: String) -> Bool {
        let regex = "^" + pattern.components(separatedBy: "…").map(NSRegularExpression.escapedPattern(for:))
            .joined(separator: ".*") + "$"
        return text.range(of: regex, options: .regularExpression) != nil
    }

    func testEveryRowOfTheErrorTable() throws {
        let rows = try Self.rows()
        XCTAssertGreaterThanOrEqual(rows.count, 40)
        XCTAssertEqual(Set(rows.map(\.id)).count, rows.count, "row ids must be unique")
        let known = Set(Self.situations.keys)
        for id in Set(rows.map(\.id)).subtracting(known).sorted() { XCTFail("row \(id) has no situation in the test") }
        for id in known.subtracting(rows.map(\.id)).sorted() { XCTFail("situation \(id) has no row in docs/errors.md") }
        for row in rows {
            let dir = try GenerateTesting.tempDir(self)
            try Self.prepare(in: dir)
            try Self.situations[row.id]?(dir)
            let before = GenerateTesting.files(dir)
            let resolved = URL(fileURLWithPath: dir.path).resolvingSymlinksInPath().path
            let name256 = String(repeating: "a", count: 252) + ".png"
            let args = row.command.map { $0 == "NAME256.png" ? name256 : $0 }
            let r = try GenerateCLI.run(args + ["--quiet"].filter { _ in args.first == "generate" }, in: dir)
            XCTAssertEqual(r.status, row.exit, "\(row.id): \(r.stderr)")
            let expected = "tweedie: error: " + row.message.replacingOccurrences(of: "<dir>", with: resolved)
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(lines.count, 2, "\(row.id): one line expected: \(r.stderr)")
            XCTAssertTrue(Self.matches(String(lines[0]), expected), "\(row.id):\n  got      \(lines[0])\n  expected \(expected)")
            XCTAssertEqual(GenerateTesting.files(dir), before, "\(row.id): files written")
            XCTAssertEqual(r.stdout, "", row.id)
        }
    }

    // MARK: Situations

    /// What every row finds in its directory: `model` (a copy of unet_cond) and `uncond` (a copy of unet_ddim).
    static func prepare(in dir: URL) throws {
        for (name, fixture) in [("model", "unet_cond"), ("uncond", "unet_ddim")] {
            try FileManager.default.copyItem(at: GenerateCLI.fixtures.appendingPathComponent(fixture),
                                             to: dir.appendingPathComponent(name))
        }
    }

    /// A copy of unet_cond named `name` whose `file` has `old` replaced by `new`.
    static func model(_ name: String, in dir: URL, _ file: String, _ old: String, _ new: String) throws {
        let copy = dir.appendingPathComponent(name)
        try FileManager.default.copyItem(at: GenerateCLI.fixtures.appendingPathComponent("unet_cond"), to: copy)
        let url = copy.appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        precondition(text.contains(old), "\(old) not in \(file)")
        try text.replacingOccurrences(of: old, with: new).write(to: url, atomically: true, encoding: .utf8)
    }

    /// A safetensors file with `header` (JSON) and `bytes` zero data bytes.
    static func rawSafeTensors(_ name: String, in dir: URL, header: String, bytes: Int) throws {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(Data(count: bytes))
        try data.write(to: dir.appendingPathComponent(name))
    }

    static let sample = #""sample":{"dtype":"F32","shape":[1,3,16,16],"data_offsets":"#

    /// A PNG made with `model` in `dir` whose recipe `change` edits (nil: made without metadata).
    static func png(_ name: String, in dir: URL, args: [String] = [], _ change: ((inout [String: Any]) -> Void)?) throws {
        let r = try GenerateCLI.run(["generate", "-m", "model", "--quiet", "--steps", "2", "--seed", "5", "-o", name]
                                    + args + (change == nil ? ["--disable-image-metadata"] : []), in: dir)
        precondition(r.status == 0, r.stderr)
        guard let change else { return }
        let path = dir.appendingPathComponent(name).path
        let (image, text) = try PNGImage.read(path: path)
        var recipe = try JSONSerialization.jsonObject(with: Data(textValue("tweedie", in: text)!.utf8)) as! [String: Any]
        change(&recipe)
        let json = String(decoding: try JSONSerialization.data(withJSONObject: recipe, options: [.sortedKeys]), as: UTF8.self)
        try image.write(to: path, text: text.map { $0.key == "tweedie" ? (key: $0.key, value: json) : $0 })
    }

    static func setting(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
        { recipe in
            var s = recipe["settings"] as! [String: Any]
            s[key] = value
            recipe["settings"] = s
        }
    }

    static let none: (URL) throws -> Void = { _ in }

    /// `run`, a pruning run of `model` stopped after its first update.
    static let prunedRun: (URL) throws -> Void = { dir in
        let r = try GenerateCLI.run(["prune", "-m", "model", "--out", "run", "--calibration", "1", "--batch", "1",
                                     "--accumulate", "1", "--sampling-steps", "2", "--checkpoint-every", "1",
                                     "--stop-after", "1", "--quiet"], in: dir)
        precondition(r.status == 0, r.stderr)
    }

    /// `lora.safetensors`, a LoRA of `model` (one update of `tweedie finetune`), and `other.safetensors`, whose two
    /// layers the model lacks.
    static let lora: (URL) throws -> Void = { dir in
        let r = try GenerateCLI.run(["finetune", "-m", "model", "--steps", "1", "--batch", "1", "--accumulate", "1",
                                     "--sampling-steps", "2", "--out", "ft", "--progress", "none"], in: dir)
        precondition(r.status == 0, r.stderr)
        try FileManager.default.moveItem(at: dir.appendingPathComponent("ft/lora.safetensors"),
                                         to: dir.appendingPathComponent("lora.safetensors"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("ft"))
        let layer = LoRAAdapter.Layer(prefix: "mid_block.attentions.0.to_qq", a: Tensor(shape: [2, 16]),
                                      b: Tensor(shape: [16, 2]), alpha: 2)
        var renamed = layer
        renamed.prefix = "mid_block.attentions.0.to_kk"
        try LoRAAdapterFile.write(LoRAAdapter(layers: [layer, renamed], className: "UNet2DModel"),
                                  to: dir.appendingPathComponent("other.safetensors").path)
    }

    /// Shard `index` (one image, `--threads 1`) of a two-image `generate` job of `model`, its manifest in
    /// `manifests/shard-INDEX.json` and its image in `img/`.
    static func shard(_ index: Int, seed: Int = 5) -> (URL) throws -> Void {
        { dir in
            for sub in ["img", "manifests"] {
                try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
            }
            let r = try GenerateCLI.run(["generate", "-m", "model", "--steps", "2", "--seed", "\(seed)", "--threads", "1",
                                         "--quiet", "--start-index", "\(index)", "-b", "1", "--job-size", "2",
                                         "-o", "img/img_%03d.png", "--manifest", "manifests/shard-\(index).json"], in: dir)
            precondition(r.status == 0, r.stderr)
        }
    }

    /// `pipe`, a copy of the dit_pipe fixture (a latent pipeline).
    static let pipe: (URL) throws -> Void = { dir in
        try FileManager.default.copyItem(at: GenerateCLI.fixtures.appendingPathComponent("dit_pipe"),
                                         to: dir.appendingPathComponent("pipe"))
    }

    /// Latent training recipes (`latent.json`: a DiT on 4-channel latents of fashion32, `latent3.json`: the same on
    /// 3 channels), `vae16` (dit_pipe's AutoencoderKL, for 16x16 images) and `vae32` (the same declared for 32x32).
    static let latentRun: (URL) throws -> Void = { dir in
        for (name, channels) in [("latent.json", 4), ("latent3.json", 3)] {
            let recipe: [String: Any] = [
                "data": "fashion32", "steps": 1, "batch": 1,
                "model": ["_class_name": "DiTTransformer2DModel", "sample_size": 16, "in_channels": channels,
                          "out_channels": channels, "patch_size": 4, "num_attention_heads": 2, "attention_head_dim": 8,
                          "num_layers": 1, "num_embeds_ada_norm": 10],
            ]
            try JSONSerialization.data(withJSONObject: recipe).write(to: dir.appendingPathComponent(name))
        }
        let vae = GenerateCLI.fixtures.appendingPathComponent("dit_pipe/vae")
        try FileManager.default.copyItem(at: vae, to: dir.appendingPathComponent("vae16"))
        try FileManager.default.copyItem(at: vae, to: dir.appendingPathComponent("vae32"))
        let config = dir.appendingPathComponent("vae32/config.json")
        try (try String(contentsOf: config, encoding: .utf8))
            .replacingOccurrences(of: "\"sample_size\": 16", with: "\"sample_size\": 32")
            .write(to: config, atomically: true, encoding: .utf8)
    }

    /// Row id -> what the row's directory needs beyond `prepare`.
    static let situations: [String: (URL) throws -> Void] = [
        "steps-negative": none, "steps-limit": none, "batch-limit": none, "batch-size": none,
        "cfg-scale-absurd": none, "cfg-scale-nan": none, "threads-zero": none, "class-range": none,
        "label-unknown": none, "class-and-label": none, "guidance-without-null": none, "sampler-unknown": none,
        "schedule-unknown": none, "rng-unknown": none, "eta-sampler": none, "guidance-interval": none,
        "sigmas-not-numbers": none, "progress-unknown": none, "option-unknown": none, "pad-width": none,
        "pattern-directive": none, "output-directory": none, "output-dir-missing": none, "output-same-file": none,
        "output-name-too-long": none, "grid-limit": none, "model-missing": none, "latents-not-safetensors": none,
        "sample-size": { try model("big", in: $0, "config.json", "\"sample_size\": 16", "\"sample_size\": 1000000") },
        "norm-eps": { try model("eps", in: $0, "config.json", "\"norm_eps\": 1e-05", "\"norm_eps\": -1") },
        "train-timesteps": {
            try model("ntt", in: $0, "scheduler_config.json", "\"num_train_timesteps\": 1000",
                      "\"num_train_timesteps\": 1000000000")
        },
        "betas": { try model("betas", in: $0, "scheduler_config.json", "\"beta_end\": 0.012", "\"beta_end\": 1.5") },
        "weight-nan": { dir in
            try model("nanw", in: dir, "config.json", "{", "{")
            try ReliabilityTests.overwrite(dir.appendingPathComponent("nanw/diffusion_pytorch_model.safetensors"),
                                           tensor: "conv_out.bias", with: [.nan])
        },
        "nan-during-sampling": { dir in
            try model("hugew", in: dir, "config.json", "{", "{")
            try ReliabilityTests.overwrite(dir.appendingPathComponent("hugew/diffusion_pytorch_model.safetensors"),
                                           tensor: "conv_out.bias", with: [3e38, 3e38, 3e38])
        },
        "latents-shape": { dir in
            try FileManager.default.copyItem(atPath: GenerateCLI.fixture("dit_pipe") + "/latents.safetensors",
                                             toPath: dir.appendingPathComponent("wrong.safetensors").path)
        },
        "latents-nan": { dir in
            try SafeTensorsWriter.write([("sample", Tensor(shape: [1, 3, 16, 16], data: [0, .nan] + Array(repeating: 0, count: 766)))],
                                        to: dir.appendingPathComponent("nan.safetensors").path)
        },
        "safetensors-duplicate": {
            try rawSafeTensors("dup.safetensors", in: $0, header: "{\(sample)[0,3072]},\(sample)[0,3072]}}", bytes: 3072)
        },
        "safetensors-gap": {
            try rawSafeTensors("gap.safetensors", in: $0,
                               header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"# + "\(sample)[8,3080]}}",
                               bytes: 3080)
        },
        "safetensors-overlap": {
            try rawSafeTensors("overlap.safetensors", in: $0,
                               header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"# + "\(sample)[0,3072]}}",
                               bytes: 3072)
        },
        "safetensors-trailing": {
            try rawSafeTensors("trailing.safetensors", in: $0, header: "{\(sample)[0,3072]}}", bytes: 3076)
        },
        "from-no-metadata": { try png("bare.png", in: $0, nil) },
        "from-other-weights": { try png("made.png", in: $0) { _ in } },
        "from-latents": { dir in
            try FileManager.default.copyItem(atPath: GenerateCLI.fixture("unet_cond") + "/latents.safetensors",
                                             toPath: dir.appendingPathComponent("l.safetensors").path)
            try png("lat.png", in: dir, args: ["--latents", "l.safetensors", "-b", "1"]) { _ in }
            try FileManager.default.removeItem(at: dir.appendingPathComponent("l.safetensors"))
        },
        "recipe-interval": { try png("interval.png", in: $0, setting("guidance_interval", [0.5])) },
        "recipe-seed": { try png("seed.png", in: $0, setting("seed", -1)) },
        "recipe-batch": { try png("batch.png", in: $0, setting("batch_count", 1_000_000)) },
        "finetune-reward": none, "finetune-rank": none, "finetune-truncation": none, "finetune-judge-size": none,
        "lora-scale": lora, "lora-layer": lora,
        "lora-other-model": { dir in
            try lora(dir)
            try FileManager.default.copyItem(at: GenerateCLI.fixtures.appendingPathComponent("dit_pipe"),
                                             to: dir.appendingPathComponent("dit"))
        },
        "from-lora": { dir in
            try lora(dir)
            try png("tuned.png", in: dir, args: ["--lora", "lora.safetensors:0.5"]) { _ in }
        },
        "quantize-out-exists": none,
        "quantize-scale-missing": { dir in
            let r = try GenerateCLI.run(["quantize", "-m", "model", "--out", "q8"], in: dir)
            precondition(r.status == 0, r.stderr)
            let path = dir.appendingPathComponent("q8/diffusion_pytorch_model.safetensors").path
            let file = try SafeTensorsFile(path: path)
            var floats: [(String, Tensor)] = [], int8: [(String, [Int8], [Int])] = []
            for name in file.names where name != "conv_out.weight_scale" {
                let info = file.info(name)!
                if info.dtype == "I8" { int8.append((name, try file.int8s(name, shape: info.shape), info.shape)) }
                else { floats.append((name, try file.tensor(name))) }
            }
            try SafeTensorsWriter.write(floats, int8: int8, to: path)
        },
        "invert-method": none,
        "invert-images-empty": { dir in
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: false)
        },
        "invert-images-mixed": { dir in
            let folder = dir.appendingPathComponent("mixed")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
            for (i, side) in [16, 8].enumerated() {
                try PNGImage(width: side, height: side, channels: 3).write(to: folder.appendingPathComponent("ref_\(i).png").path)
            }
        },
        "embedding-width": { dir in
            try ClassEmbeddingFile(rows: [("class_embedding.weight", Tensor(shape: [8]))], label: "x")
                .write(to: dir.appendingPathComponent("wide.safetensors").path)
        },
        "from-embedding": { dir in
            let model = try ModelFolder.load(dir.appendingPathComponent("model").path) as! ClassEmbeddingTables
            try ClassEmbeddingFile(rows: [("class_embedding.weight", Tensor(shape: [model.classEmbeddingWidths[0]]))],
                                   label: "concept").write(to: dir.appendingPathComponent("e.safetensors").path)
            try png("concept.png", in: dir, args: ["--embedding", "e.safetensors"]) { _ in }
        },
        "prune-ratio": none,
        "prune-kind": { dir in
            let judge = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("assets/classifier32/shape")
            try FileManager.default.copyItem(at: judge, to: dir.appendingPathComponent("judge"))
        },
        "prune-resume-settings": prunedRun,
        "prune-existing": prunedRun,
        "train-vae-kind": latentRun, "train-vae-channels": latentRun, "train-vae-size": latentRun,
        "finetune-existing": { dir in
            let r = try GenerateCLI.run(["finetune", "-m", "model", "--steps", "1", "--batch", "1", "--accumulate", "1",
                                         "--sampling-steps", "2", "--out", "run", "--progress", "none"], in: dir)
            precondition(r.status == 0, r.stderr)
        },
        "merge-missing": shard(0),
        "merge-twice": shard(0),
        "merge-reseeded": { dir in try shard(0)(dir); try shard(1, seed: 9)(dir) },
        "merge-empty": { dir in
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: false)
        },
        "manifest-other-run": shard(0),
        "job-size": none,
        "shard-range": { dir in
            let folder = dir.appendingPathComponent("gt")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
            try PNGImage(width: 16, height: 16, channels: 1).write(to: folder.appendingPathComponent("a.png").path)
        },
        "sds-clip-unknown": pipe, "sds-clip-value": pipe, "sds-no-vae": none, "sds-render-unknown": pipe,
        "sds-class-range": pipe, "sds-save-texture": pipe, "sds-steps": pipe, "sds-lr": pipe, "sds-warmup": pipe,
        "sds-texture-size": pipe, "sds-frame-every": pipe, "sds-cfg-scale": pipe,
        "sds-init-size": { dir in
            try pipe(dir)
            try PNGImage(width: 8, height: 8, channels: 3).write(to: dir.appendingPathComponent("small.png").path)
        },
    ]
}
