import Foundation
import TweedieCore
import TweedieImaging
import TweedieModels

/// PNG files as classifier input: paths (folders expand to their .png files, sorted by name) are read, converted to
/// the model's channel count, checked for its size and stacked into [N, C, S, S] in [-1, 1].
public enum ClassifierImages {
    /// `paths` with each folder replaced by the .png files directly inside it (sorted); a folder without any, or a
    /// path that does not exist, is `badInput` naming it.
    public static func expand(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw TweedieError.badInput("\(path): not found")
            }
            guard isDirectory.boolValue else {
                out.append(path)
                continue
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            let pngs = names.filter { $0.lowercased().hasSuffix(".png") }.sorted()
            guard !pngs.isEmpty else { throw TweedieError.badInput("\(path): folder holds no .png files") }
            out += pngs.map { (path as NSString).appendingPathComponent($0) }
        }
        guard !out.isEmpty else { throw TweedieError.badInput("classify: no images given") }
        return out
    }

    /// Reads `files` (PNG) as one batch for `config`: grey is replicated to RGB and alpha dropped as the model's
    /// channel count needs; an image of another size is `badInput` naming the file.
    public static func load(_ files: [String], for config: ClassifierConfig) throws -> Tensor {
        let images = try files.map { path -> PNGImage in
            let image = try PNGImage.read(path: path).image
            guard image.width == config.sampleSize, image.height == config.sampleSize else {
                throw TweedieError.badInput("\(path): image is \(image.width)x\(image.height), the classifier takes "
                                            + "\(config.sampleSize)x\(config.sampleSize)")
            }
            return image
        }
        return try PNGImage.tensor(from: images, range: .minusOneToOne, channels: config.inChannels)
    }

    /// The label `value` names: a class index (0..<K) or a class name (case-insensitive); `flag` names the option
    /// in the error.
    public static func label(_ value: String, in config: ClassifierConfig, flag: String = "--expect") throws -> Int {
        if let i = Int(value), (0..<config.numClasses).contains(i) { return i }
        if let i = config.classNames.firstIndex(where: { $0.lowercased() == value.lowercased() }) { return i }
        throw TweedieError.badInput("\(flag): '\(value)' is neither a class index 0...\(config.numClasses - 1) nor "
                                    + "a class name (\(config.classNames.joined(separator: ", ")))")
    }
}
