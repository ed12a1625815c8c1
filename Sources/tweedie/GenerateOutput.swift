import Foundation
import Tweedie

/// Writes a finished run: one PNG per image (with metadata unless disabled), the optional grid and tensor, and
/// one line per image on stdout (text or JSON). Every path is checked before sampling starts, so bad paths fail
/// fast and an interrupted or failed run leaves nothing behind.
struct GenerateWriter {
    let settings: GenerationSettings
    let pipeline: SamplingPipeline
    let paths: [String]
    let grid: String?
    let tensor: String?
    let json: Bool
    let metadata: Bool

    /// Resolves and checks the output paths of `command`'s run.
    init(command c: GenerateCommand, settings: GenerationSettings, pipeline: SamplingPipeline) throws {
        self.settings = settings
        self.pipeline = pipeline
        let pattern = try OutputPattern(c.output, flag: "-o")
        paths = (0..<settings.batchCount).map { pattern.path(index: settings.startIndex + $0, count: settings.batchCount) }
        if Set(paths).count != paths.count {
            throw TweedieError.badInput("-o \(c.output): several images map to the same file; add %d for the index")
        }
        for p in paths { try OutputPattern.checkWritable(p, flag: "-o") }
        grid = c.grid
        tensor = c.saveTensor
        if let g = grid { try OutputPattern.checkWritable(g, flag: "--grid") }
        if let t = tensor { try OutputPattern.checkWritable(t, flag: "--save-tensor") }
        json = c.json
        metadata = !c.disableImageMetadata
    }

    /// Writes every file of `result` and reports them.
    func write(_ result: GenerationResult, seconds: Double, steps: Int) throws {
        let (images, clipped) = try PNGImage.imagesWithClipping(from: result.images)
        var lines: [String] = []
        for (i, image) in images.enumerated() {
            let classID = result.classes[i]
            let label = classID.flatMap { pipeline.classes.name(of: $0) }
            var text: [(key: String, value: String)] = []
            if metadata {
                let recipe = try ImageRecipe.image(i, of: settings, classID: classID, pipeline: pipeline)
                text = try ImageMetadata.textChunks(recipe, label: label)
            }
            try image.write(to: paths[i], text: text)
            if json {
                lines.append(jsonLine(["path": paths[i], "index": settings.startIndex + i, "seed": result.seeds[i],
                                       "class": classID.map { $0 as Any } ?? NSNull(),
                                       "label": label.map { $0 as Any } ?? NSNull(),
                                       "saturation": rounded(try ImageMetrics.meanSaturation([image]), places: 6),
                                       "clipped_fraction": rounded(clipped[i], places: 6)]))
            } else {
                lines.append(describe(i, result: result, label: label))
            }
        }
        if let g = grid { try PNGImage.grid(images).write(to: g) }
        if let t = tensor { try SafeTensorsWriter.write([(LatentsFile.tensorName, result.samples)], to: t) }
        let perStep = steps > 0 ? seconds / Double(steps) : 0
        if json {
            var summary: [String: Any] = [
                "images": images.count, "seconds": rounded(seconds), "seconds_per_step": rounded(perStep),
                "steps": steps, "sampler": settings.sampler, "schedule": settings.schedule,
                "guidance": settings.guidance, "seed": settings.seed, "rng": settings.rng,
                "model": pipeline.source.name,
                "clipped_fraction": rounded(clipped.reduce(0, +) / Double(clipped.count), places: 6),
                "saturation": rounded(try ImageMetrics.meanSaturation(images), places: 6),
            ]
            if let g = grid { summary["grid"] = g }
            if let t = tensor { summary["tensor"] = t }
            lines.append(jsonLine(["summary": summary]))
        } else {
            lines.append(String(format: "%d image%@ in %.2fs (%.3f s/step), seed %llu", images.count,
                                images.count == 1 ? "" : "s", seconds, perStep, settings.seed))
        }
        print(lines.joined(separator: "\n"))
    }

    private func describe(_ i: Int, result: GenerationResult, label: String?) -> String {
        var line = "\(paths[i])  seed \(result.seeds[i])"
        if let c = result.classes[i] { line += "  class \(c)" + (label.map { " (\($0))" } ?? "") }
        return line
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
