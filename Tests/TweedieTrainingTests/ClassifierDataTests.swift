import XCTest
import TweedieCore
import TweedieData
import TweedieTraining

/// The recoloured and hue-shifted variants of colourised Fashion-MNIST used to train and probe the classifier.
final class ClassifierDataTests: XCTestCase {
    func testRecolouringKeepsLabelsAndRandomisesHue() throws {
        let plain = try ColourFashionDataset(split: .test)
        let indices = [0, 1, 2, 500, 9999]
        let none = RecolouredFashionDataset(source: plain.source, probability: 0, seed: 1)
        XCTAssertEqual(none.batch(indices).images.data, plain.batch(indices).images.data)

        let all = RecolouredFashionDataset(source: plain.source, probability: 1, seed: 1)
        var counts = [Int](repeating: 0, count: 10)
        for i in 0..<all.count { counts[all.hueClass(i)] += 1 }
        // Uniform over ten classes: each near 1,000 of 10,000 (±5 standard deviations is ±150).
        XCTAssertTrue(counts.allSatisfy { abs($0 - 1000) < 150 }, "\(counts)")
        let agree = (0..<all.count).filter { all.hueClass($0) == plain.source.labels[$0] }.count
        XCTAssertEqual(Double(agree) / 10_000, 0.1, accuracy: 0.015)
        let b = all.batch(indices)
        XCTAssertEqual(b.labels, plain.batch(indices).labels)
        let painted = ClassLinkedHue.images(pixels: plain.source.pixels, labels: (0..<all.count).map(all.hueClass),
                                            indices: indices, seed: 0)
        XCTAssertEqual(b.images.data, painted.data)
        let half = RecolouredFashionDataset(source: plain.source, probability: 0.5, seed: 1)
        let kept = (0..<half.count).filter { half.hueClass($0) == plain.source.labels[$0] }.count
        XCTAssertEqual(Double(kept) / 10_000, 0.55, accuracy: 0.02)  // half kept, plus a tenth of the rest
        let other = RecolouredFashionDataset(source: plain.source, probability: 1, seed: 2)
        XCTAssertNotEqual((0..<20).map(other.hueClass), (0..<20).map(all.hueClass), "another seed draws other hues")
    }

    func testHueShiftPaintsAnotherClass() throws {
        let plain = try ColourFashionDataset(split: .test)
        let shifted = HueShiftedFashionDataset(source: plain.source, shift: 3)
        let indices = [3, 4, 5]
        let labels = plain.source.labels
        let expected = ClassLinkedHue.images(pixels: plain.source.pixels, labels: labels.map { ($0 + 3) % 10 },
                                             indices: indices, seed: 0)
        let b = shifted.batch(indices)
        XCTAssertEqual(b.images.data, expected.data)
        XCTAssertEqual(b.labels, indices.map { labels[$0] })
        XCTAssertNotEqual(b.images.data, plain.batch(indices).images.data)
    }
}
