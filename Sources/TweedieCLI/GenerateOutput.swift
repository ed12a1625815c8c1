import Foundation
import Tweedie

/// Writes a run: one PNG per image (with metadata unless disabled), the optional grid and tensor, and one line per
/// image on stdout (text or JSON). Every path is checked before sampling starts (writable, within the file
/// system's name limits, no two outputs on one file), so bad paths fail fast. Images are staged under temporary
/// names chunk by chunk and renamed into place only when the whole run has succeeded, so a failed or interrupted
/// run leaves nothing behind (unless --keep-partial).
struct GenerateWriter {
    let settings: GenerationSettings
    let pipeline: SamplingPipeline
    let pattern: OutputPattern
    let grid: String?
    let tensor: String?
    let json: Bool
    let metadata: Bool
    private let staged = StagedOutputs()

    /// What one image's report line needs (kept small: a run may have a million images).
    private struct Record {
        let index: Int
        let seed: UInt64
        let classID: Int?
        let saturation: Double?
        let clipped: Double
    }
    private var records: [Record] = []
    /// An image file staged since the last `commitChunk` (what a shard manifest records of it).
    struct Written {
        let index: Int
        let path: String
        let seed: UInt64
        let classID: Int?
        let sha256: String
    }
    private var pending: [Written] = []
    private var gridImages: [PNGImage] = []
    private var samples: [Float] = []

    /// Resolves and checks the output paths of `command`'s run.
    init(command c: GenerateCommand, settings: GenerationSettings, pipeline: SamplingPipeline) throws {
        self.settings = settings
        self.pipeline = pipeline
        pattern = try OutputPattern(c.output, flag: "-o")
        grid = c.grid
        tensor = c.saveTensor
        json = c.json
        metadata = !c.disableImageMetadata
        if grid != nil, settings.batchCount > ResourceLimits.maxGridImages {
            throw TweedieError.badInput("--grid: \(settings.batchCount) images exceed the limit of "
                                        + "\(ResourceLimits.maxGridImages) per grid")
        }
        let perSample = pipeline.sampleShape.reduce(1, *)
        if tensor != nil, settings.batchCount > ResourceLimits.maxSavedElements / max(1, perSample) {
            throw TweedieError.badInput("--save-tensor: \(settings.batchCount) samples of \(perSample) elements exceed "
                                        + "the limit of \(ResourceLimits.maxSavedElements) elements")
        }
        try checkPaths(c)
    }

    /// Path of image `i` of the run.
    func path(_ i: Int) -> String { pattern.path(index: settings.startIndex + i, count: settings.batchCount) }

    /// Every output is creatable and no two share a file (compared with their directories resolved, so
    /// `x.png` and `./x.png` collide). Image paths of one pattern are distinct by construction (%d, or _<index>).
    private func checkPaths(_ c: GenerateCommand) throws {
        var directories: [String: String] = [:]
        func identity(_ p: String) -> String {
            let (dir, name) = OutputPattern.split(p)
            if let d = directories[dir] { return d + "/" + name }
            let resolved = OutputPattern.split(OutputPattern.identity(p)).directory
            directories[dir] = resolved
            return resolved + "/" + name
        }
        var others: [String: String] = [:]
        for (flag, p) in [("--grid", grid), ("--save-tensor", tensor)] {
            guard let p else { continue }
            try OutputPattern.checkWritable(p, flag: flag)
            let id = identity(p)
            if let first = others[id] {
                throw TweedieError.badInput("\(flag) \(p): the same file as \(first); give each output its own path")
            }
            others[id] = "\(flag) \(p)"
        }
        for i in 0..<settings.batchCount {
            let p = path(i)
            try OutputPattern.checkWritable(p, flag: "-o")
            if !others.isEmpty, let clash = others[identity(p)] {
                throw TweedieError.badInput("-o \(c.output): image \(settings.startIndex + i) would be written to \(p), "
                                            + "the same file as \(clash); give each output its own path")
            }
        }
    }

    /// Stages the PNGs of one chunk, sampled with `part` (a chunk of the run's settings).
    mutating func stage(_ result: GenerationResult, settings part: GenerationSettings) throws {
        let (images, clipped) = try PNGImage.imagesWithClipping(from: result.images)
        for (i, image) in images.enumerated() {
            let index = part.startIndex + i
            let classID = result.classes[i]
            let label = classID.flatMap { pipeline.classes.name(of: $0) }
            var text: [(key: String, value: String)] = []
            if metadata {
                let recipe = try ImageRecipe.image(i, of: part, classID: classID, pipeline: pipeline)
                text = try ImageMetadata.textChunks(recipe, label: label)
            }
            let file = path(index - settings.startIndex)
            let bytes = try image.encoded(text: text, name: file)
            try staged.stage(bytes, for: file)
            pending.append(Written(index: index, path: file, seed: result.seeds[i], classID: classID,
                                   sha256: SHA256.hex(bytes)))
            let saturation = image.channels >= 3 ? try ImageMetrics.meanSaturation([image]) : nil
            records.append(Record(index: index, seed: result.seeds[i], classID: classID, saturation: saturation,
                                  clipped: clipped[i]))
            if grid != nil { gridImages.append(image) }
        }
        if tensor != nil { samples += result.samples.data }
    }

    /// Moves the images staged so far into place (a shard commits chunk by chunk) and returns them.
    mutating func commitChunk() throws -> [Written] {
        try staged.commit()
        defer { pending.removeAll() }
        return pending
    }

    /// Stages the grid and tensor, moves every file into place and reports them.
    func finish(seconds: Double, steps: Int) throws {
        if let g = grid { try staged.stage(try PNGImage.grid(gridImages).encoded(name: g), for: g) }
        if let t = tensor {
            let shape = [records.count] + pipeline.sampleShape
            try staged.stageTensors([(LatentsFile.tensorName, Tensor(shape: shape, data: samples))], for: t)
        }
        try staged.commit()
        var out = ""
        for r in records {
            let i = r.index - settings.startIndex  // a resumed shard makes only some of its images
            let label = r.classID.flatMap { pipeline.classes.name(of: $0) }
            if json {
                out += jsonLine(["path": path(i), "index": r.index, "seed": r.seed,
                                 "class": r.classID.map { $0 as Any } ?? NSNull(),
                                 "label": label.map { $0 as Any } ?? NSNull(),
                                 "saturation": r.saturation.map { rounded($0, places: 6) as Any } ?? NSNull(),
                                 "clipped_fraction": rounded(r.clipped, places: 6)]) + "\n"
            } else {
                var line = "\(path(i))  seed \(r.seed)"
                if let c = r.classID { line += "  class \(c)" + (label.map { " (\($0))" } ?? "") }
                out += line + "\n"
            }
            if out.utf8.count > 1 << 16 {
                print(out, terminator: "")
                out = ""
            }
        }
        let perStep = steps > 0 ? seconds / Double(steps) : 0
        let n = Double(max(records.count, 1))  // a resumed shard may have had nothing left to make
        let saturations = records.compactMap(\.saturation)
        if json {
            var summary: [String: Any] = [
                "images": records.count, "seconds": rounded(seconds), "seconds_per_step": rounded(perStep),
                "steps": steps, "sampler": settings.sampler, "schedule": settings.schedule,
                "guidance": settings.guidance, "seed": settings.seed, "rng": settings.rng,
                "model": pipeline.source.name,
                "clipped_fraction": rounded(records.map(\.clipped).reduce(0, +) / n, places: 6),
                "saturation": saturations.count == records.count
                    ? rounded(saturations.reduce(0, +) / n, places: 6) as Any : NSNull(),
            ]
            if let g = grid { summary["grid"] = g }
            if let t = tensor { summary["tensor"] = t }
            out += jsonLine(["summary": summary])
        } else {
            out += String(format: "%d image%@ in %.2fs (%.3f s/step), seed %llu", records.count,
                          records.count == 1 ? "" : "s", seconds, perStep, settings.seed)
        }
        print(out)
    }

    /// After a failure: removes every staged file, or with `keep` moves the finished images into place; returns
    /// how many were kept.
    func abandon(keep: Bool) -> Int {
        guard keep else {
            staged.discard()
            return 0
        }
        let n = staged.count
        do { try staged.commit() } catch { return 0 }
        return n
    }

    private func rounded(_ v: Double, places: Int = 4) -> Double {
        let scale = pow(10, Double(places))
        return (v * scale).rounded() / scale
    }

    /// One line of JSON with sorted keys.
    private func jsonLine(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
