import Foundation
import Tweedie

/// What a golden holds: the 8-bit images users see and the final model-space samples behind them.
struct GoldenOutput {
    var images: [PNGImage]
    /// [N, C, h, w], the tensor `tweedie generate --save-tensor` writes.
    var samples: Tensor
}

/// Produces goldens through the library path `tweedie generate` takes: `ImageGenerator.run` on a
/// `SamplingPipeline`, then the same 8-bit conversion the CLI writes (`PNGImage.images(from:)`).
enum GoldenRun {
    nonisolated(unsafe) private static var pipelines: [String: SamplingPipeline] = [:]

    /// The pipeline of a manifest entry's model, loaded once per process.
    static func pipeline(_ entry: GoldenEntry) throws -> SamplingPipeline {
        let path = try GoldenManifest.modelPath(entry)
        if let p = pipelines[path] { return p }
        let p = try SamplingPipeline(path: path)
        pipelines[path] = p
        return p
    }

    /// Runs every image of `golden` on `pipeline` (default: the manifest's model).
    static func produce(_ golden: GoldenCase, pipeline given: SamplingPipeline? = nil) throws -> GoldenOutput {
        let generator = ImageGenerator(pipeline: try given ?? pipeline(golden.entry))
        var images: [PNGImage] = []
        var data: [Float] = []
        var sampleShape: [Int] = []
        for i in 0..<golden.entry.imageCount {
            let result = try generator.run(golden.settings(image: i))
            images += try PNGImage.images(from: result.images).images
            data += result.samples.data
            sampleShape = Array(result.samples.shape.dropFirst())
        }
        return GoldenOutput(images: images, samples: Tensor(shape: [images.count] + sampleShape, data: data))
    }
}

/// Reading and writing the stored files of a golden under Goldens/.
enum GoldenStore {
    static func url(_ relative: String) -> URL { GoldenManifest.folder.appendingPathComponent(relative) }

    /// The stored golden, or nil when any of its files is absent.
    static func read(_ golden: GoldenCase) throws -> GoldenOutput? {
        guard golden.files.allSatisfy({ FileManager.default.fileExists(atPath: url($0).path) }) else { return nil }
        let images = try (0..<golden.entry.imageCount).map { try PNGImage.read(path: url(golden.imageFile($0)).path).image }
        let samples = try SafeTensorsFile(path: url(golden.tensorFile).path).tensor(LatentsFile.tensorName)
        return GoldenOutput(images: images, samples: samples)
    }

    /// Writes `output` as `golden`'s files (PNGs without metadata, so only pixel changes show in git).
    static func write(_ output: GoldenOutput, as golden: GoldenCase) throws {
        try FileManager.default.createDirectory(at: url(golden.entry.folder), withIntermediateDirectories: true)
        for (i, image) in output.images.enumerated() { try image.write(to: url(golden.imageFile(i)).path) }
        try SafeTensorsWriter.write([(LatentsFile.tensorName, output.samples)], to: url(golden.tensorFile).path)
    }

    /// Files under Goldens/ that belong to no golden of the manifest (besides the manifest and README).
    static func strays(_ goldens: [GoldenCase]) throws -> [String] {
        let known = Set(goldens.flatMap(\.files) + ["manifest.json", "README.md"])
        let root = GoldenManifest.folder.standardizedFileURL.path
        guard let walk = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        for case let rel as String in walk {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir), !isDir.boolValue,
               !known.contains(rel) {
                out.append(rel)
            }
        }
        return out.sorted()
    }
}
