import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieImaging
import TweedieModels
import TweedieData
import TweedieTraining

/// `tweedie classify` on the committed PNG fixtures with the shipped assets/classifier32, and its bad-input exits.
final class ClassifierCLITests: XCTestCase {
    static var pngs: String { TrainingFixtures.own("classifier/png") }
    static var asset: String {
        TrainingFixtures.testsRoot.deletingLastPathComponent().appendingPathComponent("assets/classifier32").path
    }

    /// Runs the `tweedie` executable built beside the test bundle.
    static func tweedie(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = TestEnvironment.cliBinary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// The fixtures' true labels, from their names (test-<index>-label<k>.png).
    static func fixtureLabels() throws -> [(path: String, label: Int)] {
        try ClassifierImages.expand([pngs]).map { path in
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            return (path, Int(stem.split(separator: "l").last.map(String.init) ?? "") ?? -1)
        }
    }

    /// The fixture PNGs (made by scripts/make_classifier_fixtures.py) are the engine's own recipe, quantised.
    func testFixturesFollowTheColourRecipe() throws {
        let fixtures = try Self.fixtureLabels()
        XCTAssertEqual(fixtures.map(\.label).sorted(), Array(0..<10))
        let config = ClassifierConfig(classNames: FashionMNIST.classNames)
        let loaded = try ClassifierImages.load(fixtures.map(\.path), for: config)
        let indices = fixtures.map { Int(($0.path as NSString).lastPathComponent.split(separator: "-")[1])! }
        let recipe = ClassLinkedHue.images(try FashionMNIST.load(split: .test), indices: indices, seed: 0)
        XCTAssertEqual(loaded.shape, recipe.shape)
        // Quantisation to bytes moves a value by at most half a step (1/255 in [-1, 1]) plus rounding.
        XCTAssertLessThanOrEqual(loaded.maxAbsDifference(recipe), 1.01 / 255)
    }

    /// Classifying the fixtures twice prints the same lines, agrees with the library and with --json, and names
    /// the true class for at least 8 of the 10 garments.
    func testClassifyFixturesIsDeterministic() throws {
        let first = try Self.tweedie(["classify", "--model", Self.asset, Self.pngs, "--threads", "1"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let second = try Self.tweedie(["classify", "--model", Self.asset, Self.pngs, "--threads", "1"])
        XCTAssertEqual(first.stdout, second.stdout)
        let lines = first.stdout.split(separator: "\n").map(String.init)
        let fixtures = try Self.fixtureLabels()
        XCTAssertEqual(lines.count, fixtures.count)

        let model = try TweedieClassifier(folder: Self.asset)
        let predictions = try model.predict(ClassifierImages.load(fixtures.map(\.path), for: model.config))
        var right = 0
        for (line, (f, p)) in zip(lines, zip(fixtures, predictions)) {
            XCTAssertEqual(line, "\(f.path): \(p.label) \(p.className) \(String(format: "%.4f", p.confidence))")
            if p.label == f.label { right += 1 }
        }
        XCTAssertGreaterThanOrEqual(right, 8, first.stdout)

        let json = try Self.tweedie(["classify", "--model", Self.asset, Self.pngs, "--json", "--expect", "Sneaker"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        let images = object["images"] as! [[String: Any]]
        // The vocabulary of `generate --json`: class = id, label = name.
        XCTAssertEqual(images.map { $0["class"] as! Int }, predictions.map(\.label))
        XCTAssertEqual(images.map { $0["label"] as! String }, predictions.map(\.className))
        let sneakers = predictions.filter { $0.label == 7 }.count
        XCTAssertEqual(object["correct"] as? Int, sneakers)
        XCTAssertEqual((object["expected"] as? [String: Any])?["class"] as? Int, 7)

        let expect = try Self.tweedie(["classify", "--model", Self.asset, fixtures[0].path, "--expect",
                                       String(fixtures[0].label)])
        let hit = predictions[0].label == fixtures[0].label ? 1 : 0
        let name = model.config.classNames[fixtures[0].label]
        let line = "accuracy against \(fixtures[0].label) \(name): \(hit)/1 (\(hit * 100).0%)\n"
        XCTAssertTrue(expect.stdout.hasSuffix(line), expect.stdout)
    }

    /// On the fixture garments painted in another class's hue, the recipe-trained classifier follows the hue and the
    /// companion trained with --recolour 1 (assets/classifier32/shape) still names the garment.
    func testShapeCompanionIgnoresHue() throws {
        let fixtures = try Self.fixtureLabels()
        let indices = fixtures.map { Int(($0.path as NSString).lastPathComponent.split(separator: "-")[1])! }
        let test = try FashionMNIST.load(split: .test)
        let shifted = HueShiftedFashionDataset(source: test, shift: 5).batch(indices)
        let hue = try TweedieClassifier(folder: Self.asset)
        let shape = try TweedieClassifier(folder: Self.asset + "/shape")
        let labels = fixtures.map(\.label)
        func hits(_ model: TweedieClassifier, _ images: Tensor, _ wanted: [Int]) throws -> Int {
            zip(try model.predict(images), wanted).filter { $0.label == $1 }.count
        }
        XCTAssertGreaterThanOrEqual(try hits(hue, shifted.images, labels.map { ($0 + 5) % 10 }), 8)
        XCTAssertGreaterThanOrEqual(try hits(shape, shifted.images, labels), 8)
        let plain = try ClassifierImages.load(fixtures.map(\.path), for: shape.config)
        XCTAssertGreaterThanOrEqual(try hits(shape, plain, labels), 8)
    }

    func testBadInputExitsTwoWithOneLine() throws {
        let tiny = TrainingFixtures.own("classifier/tiny")
        let png = try Self.fixtureLabels()[0].path
        let cases: [([String], String)] = [
            (["classify", "--model", "/nonexistent/classifier", png], "/nonexistent/classifier"),
            (["classify", "--model", tiny, png], png),                              // 32x32 image, 8x8 classifier
            (["classify", "--model", tiny, "/nonexistent.png"], "/nonexistent.png"),
            (["classify", "--model", tiny, png, "--expect", "Coat"], "--expect"),
            (["classify", "--model", TrainingFixtures.models("unet_a"), png], "_class_name"),
            (["classify", "--model", tiny], "at least one image"),
            (["train-classifier", "--out", "/tmp/unused", "--epochs", "0"], "epochs"),
        ]
        for (arguments, needle) in cases {
            let r = try Self.tweedie(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(needle), "\(arguments): \(r.stderr)")
        }
    }
}
