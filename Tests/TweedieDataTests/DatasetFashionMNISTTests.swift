import Foundation
import TweedieCore
import TweedieData
import XCTest

final class DatasetFashionMNISTTests: XCTestCase {
    private let directory = FashionMNIST.defaultDirectory

    private func requirePackage() throws {
        try DataSupport.require(directory + "/t10k-labels-idx1-ubyte.gz", package: FashionMNIST.package)
    }

    func testLabelCountsOfBothSplits() throws {
        try requirePackage()
        let test = try FashionMNIST.loadLabels(split: .test)
        XCTAssertEqual(test.count, 10000)
        XCTAssertEqual(Array(test.prefix(5)), [9, 2, 1, 1, 6])
        let train = try FashionMNIST.loadLabels(split: .train)
        for k in 0..<10 {
            XCTAssertEqual(test.filter { $0 == k }.count, 1000, "test class \(k)")
            XCTAssertEqual(train.filter { $0 == k }.count, 6000, "train class \(k)")
        }
        XCTAssertEqual(FashionMNIST.classNames[9], "Ankle boot")
        XCTAssertEqual(FashionMNIST.classNames.count, 10)
    }

    func testTestImages() throws {
        try requirePackage()
        let data = try FashionMNIST.load(split: .test)
        XCTAssertEqual(data.count, 10000)
        XCTAssertEqual(data.pixels.count, 10000 * 784)
        // Reference values from numpy over the same file: image 0 sums to 33456, pixel (14, 14) is 110.
        XCTAssertEqual(data.pixels[..<784].reduce(0) { $0 + Int($1) }, 33456)
        let images = data.images(0..<3)
        XCTAssertEqual(images.shape, [3, 1, 28, 28])
        XCTAssertEqual(images.data[14 * 28 + 14], 110 / 255)
        XCTAssertEqual(images.data.max(), 1)
        XCTAssertEqual(images.data.min(), 0)
        XCTAssertEqual(data.images(at: [2]).data, Array(images.data[(2 * 784)...]))
    }

    func testMissingDirectoryNamesThePackage() throws {
        let dir = try DataSupport.tempDirectory()
        let m = DataSupport.errorMessage { _ = try FashionMNIST.load(split: .test, directory: dir) }
        XCTAssertTrue(m.contains(dir + "/t10k-labels-idx1-ubyte.gz") && m.contains("apt-get install dataset-fashion-mnist"),
                      m)
    }

    func testCorruptFilesNameFileAndField() throws {
        let dir = try DataSupport.tempDirectory()
        let labels = try DataSupport.write([0, 0, 8, 1, 0, 0, 0, 3, 1, 12, 3], to: dir, name: "t10k-labels-idx1-ubyte")
        let m = DataSupport.errorMessage { _ = try FashionMNIST.loadLabels(split: .test, directory: dir) }
        XCTAssertEqual(m, "\(labels): IDX data: label 12 at index 1 is not in 0...9")
        _ = try DataSupport.write([0, 0, 8, 1, 0, 0, 0, 2, 1, 2], to: dir, name: "t10k-labels-idx1-ubyte")
        let images = try DataSupport.write([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 5, 6], to: dir,
                                           name: "t10k-images-idx3-ubyte")
        let m2 = DataSupport.errorMessage { _ = try FashionMNIST.load(split: .test, directory: dir) }
        XCTAssertTrue(m2.hasPrefix(images + ": IDX dimensions [2, 1, 1]"), m2)
    }
}
