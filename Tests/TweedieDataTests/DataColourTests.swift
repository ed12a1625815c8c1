import Foundation
import TweedieCore
import TweedieData
import XCTest

final class DataColourTests: XCTestCase {
    /// Three synthetic 28x28 images: a full-intensity square, a ramp, and an empty one.
    private let pixels: [UInt8] = (0..<3).flatMap { n in
        (0..<784).map { i -> UInt8 in
            let y = i / 28, x = i % 28
            switch n {
            case 0: return (8..<20).contains(y) && (8..<20).contains(x) ? 255 : 0
            case 1: return UInt8(x * 9)
            default: return 0
            }
        }
    }
    private let labels = [3, 7, 0]

    func testHSVConversionCorners() {
        func close(_ a: (r: Float, g: Float, b: Float), _ b: (Float, Float, Float)) -> Bool {
            abs(a.r - b.0) < 1e-6 && abs(a.g - b.1) < 1e-6 && abs(a.b - b.2) < 1e-6
        }
        XCTAssertTrue(close(ClassLinkedHue.hsvToRGB(hue: 0, saturation: 1, value: 1), (1, 0, 0)))
        XCTAssertTrue(close(ClassLinkedHue.hsvToRGB(hue: 1.0 / 3, saturation: 1, value: 1), (0, 1, 0)))
        XCTAssertTrue(close(ClassLinkedHue.hsvToRGB(hue: 2.0 / 3, saturation: 1, value: 0.5), (0, 0, 0.5)))
        XCTAssertTrue(close(ClassLinkedHue.hsvToRGB(hue: 0.5, saturation: 0.5, value: 1), (0.5, 1, 1)))
        XCTAssertTrue(close(ClassLinkedHue.hsvToRGB(hue: 0.9, saturation: 0, value: 0.7), (0.7, 0.7, 0.7)))
    }

    func testDeterministicAndKeyedByIndexNotBatch() {
        let a = ClassLinkedHue.images(pixels: pixels, labels: labels, indices: [0, 1, 2], seed: 7)
        let b = ClassLinkedHue.images(pixels: pixels, labels: labels, indices: [0, 1, 2], seed: 7)
        XCTAssertEqual(a, b)
        let alone = ClassLinkedHue.images(pixels: pixels, labels: labels, indices: [1], seed: 7)
        XCTAssertEqual(alone.data, Array(a.data[3072..<6144]))
        let other = ClassLinkedHue.images(pixels: pixels, labels: labels, indices: [0, 1, 2], seed: 8)
        XCTAssertNotEqual(a, other)
        XCTAssertNotEqual(ClassLinkedHue.colour(label: 3, index: 0, seed: 7),
                          ClassLinkedHue.colour(label: 3, index: 1, seed: 7))
    }

    func testRecipeGeometryRangeAndColour() {
        let x = ClassLinkedHue.images(pixels: pixels, labels: labels, indices: [0, 1, 2], seed: 1)
        XCTAssertEqual(x.shape, [3, 3, 32, 32])
        XCTAssertGreaterThanOrEqual(x.data.min()!, -1)
        XCTAssertLessThanOrEqual(x.data.max()!, 1)
        // Border (2 px) and the empty image are black, i.e. -1 in model space.
        for c in 0..<3 {
            for k in 0..<32 {
                XCTAssertEqual(x.data[c * 1024 + k], -1)
                XCTAssertEqual(x.data[c * 1024 + 31 * 32 + k], -1)
                XCTAssertEqual(x.data[c * 1024 + k * 32 + 1], -1)
            }
        }
        XCTAssertTrue(x.data[(2 * 3072)...].allSatisfy { $0 == -1 })
        // Inside image 0's white square, every pixel is HSV→RGB(h, S, V) of the sample's colour.
        let c = ClassLinkedHue.colour(label: 3, index: 0, seed: 1)
        XCTAssertTrue(ClassLinkedHue.saturationRange.contains(c.saturation))
        XCTAssertTrue(ClassLinkedHue.valueRange.contains(c.value))
        XCTAssertLessThanOrEqual(abs(c.hue - 0.3), ClassLinkedHue.hueJitter + 1e-6)
        let rgb = ClassLinkedHue.hsvToRGB(hue: c.hue, saturation: c.saturation, value: c.value)
        let o = (10 + 2) * 32 + 10 + 2
        XCTAssertEqual(x.data[o], 2 * rgb.r - 1, accuracy: 1e-6)
        XCTAssertEqual(x.data[1024 + o], 2 * rgb.g - 1, accuracy: 1e-6)
        XCTAssertEqual(x.data[2048 + o], 2 * rgb.b - 1, accuracy: 1e-6)
    }

    func testHueWrapsForClassZero() {
        let hues = (0..<200).map { ClassLinkedHue.colour(label: 0, index: $0, seed: 3).hue }
        XCTAssertTrue(hues.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertTrue(hues.contains { $0 > 0.9 } && hues.contains { $0 < 0.1 })
    }

    /// The mean hue (measured back from the RGB pixels) of class k's images sits at k/10 of the circle.
    func testMeanHueOfEachClassOnFashionMNIST() throws {
        try DataSupport.require(FashionMNIST.defaultDirectory + "/t10k-images-idx3-ubyte.gz",
                                package: FashionMNIST.package)
        let data = try FashionMNIST.load(split: .test)
        for k in 0..<10 {
            let indices = Array(data.labels.enumerated().filter { $0.element == k }.map(\.offset).prefix(40))
            let x = ClassLinkedHue.images(data, indices: indices, seed: 2024)
            var sx = 0.0, sy = 0.0
            for n in 0..<indices.count {
                for p in 0..<1024 {
                    let base = n * 3072 + p
                    let r = (x.data[base] + 1) / 2, g = (x.data[base + 1024] + 1) / 2, b = (x.data[base + 2048] + 1) / 2
                    guard max(r, g, b) > 0.2 else { continue }
                    let h = Double(hue(r, g, b)) * 2 * .pi
                    sx += cos(h)
                    sy += sin(h)
                }
            }
            var mean = atan2(sy, sx) / (2 * .pi)
            if mean < 0 { mean += 1 }
            let distance = min(abs(mean - Double(k) / 10), 1 - abs(mean - Double(k) / 10))
            XCTAssertLessThan(distance, 0.01, "class \(k): mean hue \(mean)")
        }
    }

    /// RGB→HSV hue in turns.
    private func hue(_ r: Float, _ g: Float, _ b: Float) -> Float {
        let mx = max(r, g, b), mn = min(r, g, b), d = mx - mn
        guard d > 0 else { return 0 }
        var h: Float
        if mx == r { h = (g - b) / d } else if mx == g { h = 2 + (b - r) / d } else { h = 4 + (r - g) / d }
        h /= 6
        return h < 0 ? h + 1 : h
    }
}
