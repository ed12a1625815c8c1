import Foundation
import TweedieCore
import TweedieImaging

/// The reference images of a new concept (`tweedie invert --images DIR`): every .png in the folder, sorted by
/// name, as one batch [N, C, H, W] in [-1, 1]. Grey is replicated and alpha dropped as the model's channel count
/// needs. An empty folder, images of different sizes, or a size other than the model's is `badInput` naming the
/// folder or file.
public enum ConceptImages {
    /// The PNG files of `folder`, sorted.
    public static func files(in folder: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TweedieError.badInput("--images \(folder): not a folder")
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.lowercased().hasSuffix(".png") }.sorted()
        guard !names.isEmpty else {
            throw TweedieError.badInput("--images \(folder): the folder holds no .png images (3 to 8 are typical)")
        }
        return names.map { (folder as NSString).appendingPathComponent($0) }
    }

    /// The images of `folder` for a model taking `shape` [C, H, W].
    public static func load(folder: String, shape: [Int]) throws -> Tensor {
        let paths = try files(in: folder)
        var images: [PNGImage] = []
        for path in paths {
            let image = try PNGImage.read(path: path).image
            if let first = images.first, first.width != image.width || first.height != image.height {
                throw TweedieError.badInput("--images \(folder): \((path as NSString).lastPathComponent) is "
                                            + "\(image.width)x\(image.height), \((paths[0] as NSString).lastPathComponent) "
                                            + "is \(first.width)x\(first.height) (all images must have one size)")
            }
            images.append(image)
        }
        let first = images[0]
        guard first.height == shape[1], first.width == shape[2] else {
            throw TweedieError.badInput("--images \(folder): images are \(first.width)x\(first.height), the model "
                                        + "samples \(shape[2])x\(shape[1])")
        }
        return try PNGImage.tensor(from: images, range: .minusOneToOne, channels: shape[0])
    }
}
