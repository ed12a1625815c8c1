import Foundation
import TweedieCore

/// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28x28 grey garments in ten classes, 60,000 training and 10,000
/// test images, read offline from the IDX files of Debian's `dataset-fashion-mnist` package.
public struct FashionMNIST {
    /// The two published splits.
    public enum Split: String, CaseIterable, Sendable {
        case train, test
        /// File-name prefix of the split ("train" or "t10k").
        public var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// Where Debian installs the files.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    /// The apt package that provides them.
    public static let package = "dataset-fashion-mnist"
    /// Class names by label.
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                    "Sneaker", "Bag", "Ankle boot"]
    /// Image side in pixels.
    public static let side = 28

    /// Which split this is.
    public let split: Split
    /// All images as bytes, [count, 28, 28] row-major; 0 is the (black) background, 255 full intensity.
    public let pixels: [UInt8]
    /// Class label 0...9 of each image.
    public let labels: [Int]
    /// Number of images.
    public var count: Int { labels.count }

    /// Loads images and labels of `split` from `directory` (`<prefix>-images-idx3-ubyte[.gz]`,
    /// `<prefix>-labels-idx1-ubyte[.gz]`). Missing files name the package; corrupt ones name file and field.
    public static func load(split: Split, directory: String = defaultDirectory) throws -> FashionMNIST {
        let labels = try loadLabels(split: split, directory: directory)
        let path = filePath(directory, "\(split.filePrefix)-images-idx3-ubyte")
        let images = try IDXFile.read(path, package: package)
        guard images.dimensions == [labels.count, side, side] else {
            throw TweedieError.badInput("\(path): IDX dimensions \(images.dimensions), expected "
                                        + "[\(labels.count), \(side), \(side)] to match the labels file")
        }
        return FashionMNIST(split: split, pixels: images.values, labels: labels)
    }

    /// Loads only the labels of `split` (cheap: a few kilobytes).
    public static func loadLabels(split: Split, directory: String = defaultDirectory) throws -> [Int] {
        let path = filePath(directory, "\(split.filePrefix)-labels-idx1-ubyte")
        let file = try IDXFile.read(path, package: package)
        guard file.dimensions.count == 1 else {
            throw TweedieError.badInput("\(path): IDX dimensions \(file.dimensions), expected one (labels)")
        }
        if let i = file.values.firstIndex(where: { $0 >= classNames.count }) {
            throw TweedieError.badInput("\(path): IDX data: label \(file.values[i]) at index \(i) is not in 0...9")
        }
        return file.values.map(Int.init)
    }

    /// The gzip file when present, else an uncompressed one of the same name, else the gzip name (for the error).
    private static func filePath(_ directory: String, _ stem: String) -> String {
        let base = (directory as NSString).appendingPathComponent(stem)
        if FileManager.default.fileExists(atPath: base + ".gz") { return base + ".gz" }
        return FileManager.default.fileExists(atPath: base) ? base : base + ".gz"
    }

    /// Images `indices` as [n, 1, 28, 28] Float in [0, 1] (byte / 255).
    public func images(at indices: [Int]) -> Tensor {
        let plane = Self.side * Self.side
        return Tensor(shape: [indices.count, 1, Self.side, Self.side]) { out in
            pixels.withUnsafeBufferPointer { src in
                for (n, i) in indices.enumerated() {
                    precondition(i >= 0 && i < count, "FashionMNIST.images: index \(i) outside 0..<\(count)")
                    for k in 0..<plane { out[n * plane + k] = Float(src[i * plane + k]) / 255 }
                }
            }
        }
    }

    /// Images in `range` (all by default) as [n, 1, 28, 28] Float in [0, 1].
    public func images(_ range: Range<Int>? = nil) -> Tensor {
        images(at: Array(range ?? 0..<count))
    }
}
