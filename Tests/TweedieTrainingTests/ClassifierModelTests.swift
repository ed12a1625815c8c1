import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieData
import TweedieTraining

/// The classifier's inference model and differentiable twin against PyTorch, against each other, and on bad input.
final class ClassifierModelTests: XCTestCase {
    static var tiny: String { TrainingFixtures.own("classifier/tiny") }

    static func tinyConfig(layers: Int = 1) -> ClassifierConfig {
        ClassifierConfig(inChannels: 3, sampleSize: 8, blockOutChannels: [4, 8], layersPerBlock: layers,
                         normNumGroups: 2, classNames: ["a", "b", "c"])
    }

    /// Logits of the folder written from PyTorch (scripts/make_classifier_fixtures.py) match torch's.
    func testInferenceMatchesPyTorch() throws {
        let net = try TweedieClassifier(folder: Self.tiny)
        let io = try SafeTensorsFile(path: Self.tiny + "/io.safetensors")
        let logits = try net.logits(try io.tensor("images"))
        XCTAssertEqual(logits.shape, [4, 3])
        // Measured 2.8e-7 (worst of 5 OpenBLAS kernels).
        assertMeasured(relativeError(logits, try io.tensor("logits")), tolerance: 2e-6, "classifier logits")
        // Convolutions (weights + biases), four affine norms, the head.
        let convs = (4 * 27 + 4) + (4 * 36 + 4) + (8 * 36 + 8) + (8 * 72 + 8)
        XCTAssertEqual(net.parameterCount, convs + (2 * 4 + 2 * 4 + 2 * 8 + 2 * 8) + (3 * 8 + 3))
    }

    /// Loss and every gradient of the tape twin (weights and input) match PyTorch autograd.
    func testGradientsMatchPyTorch() throws {
        let config = try ClassifierConfig(json: JSONConfig(path: Self.tiny + "/config.json"))
        let net = try TweedieClassifier.network(config: config)
        let io = try SafeTensorsFile(path: Self.tiny + "/io.safetensors")
        let tape = Tape()
        let file = try SafeTensorsFile(path: Self.tiny + "/" + TweedieClassifier.weightsFile)
        let weights = try file.names.map { ($0, try file.tensor($0)) }
        let leaves = weights.map { tape.leaf($0.1, requiresGrad: true) }
        let images = tape.leaf(try io.tensor("images"), requiresGrad: true)
        let labels = try io.int64s("labels").map { Int($0) }
        let logits = try net.logits(tape, parameters: Dictionary(uniqueKeysWithValues: zip(weights.map(\.0), leaves)),
                                    images: images)
        let loss = tape.crossEntropy(logits, labels: labels)
        XCTAssertEqual(loss.value.data[0], try io.tensor("loss").data[0], accuracy: 1e-5)
        let grads = tape.gradients(of: loss, wrt: leaves + [images])
        for (i, (name, _)) in weights.enumerated() {
            // Measured 9.1e-7 to 4.3e-6 over the parameters (worst of 5 OpenBLAS kernels).
            assertMeasured(relativeError(grads[i], try io.tensor("grad/" + name)), tolerance: 3e-5,
                           "classifier gradient \(name)")
        }
        // Measured 6.9e-7 (worst of 5 OpenBLAS kernels).
        assertMeasured(relativeError(grads.last!, try io.tensor("grad_images")), tolerance: 4e-6, "classifier gradient images")
    }

    /// The twin's forward equals the inference model's on the same weights; freshly initialised weights
    /// round-trip through a folder.
    func testTwinAgreesWithInferenceModel() throws {
        let config = Self.tinyConfig(layers: 2)
        let weights = try TweedieClassifier.initialParameters(config: config, seed: 3)
        let net = try TweedieClassifier.network(config: config)
        XCTAssertEqual(weights.map(\.0), net.parameterShapes.map(\.name))
        let images = Tensor(shape: [5, 3, 8, 8], data: (0..<960).map { Float(sin(Double($0) * 0.37)) })
        let tape = Tape()
        let params = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, tape.constant($0.1)) })
        let twin = try net.logits(tape, parameters: params, images: tape.constant(images)).value

        let dir = try makeScratchDirectory("classifier-folder")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ClassifierFolder.write(config: config, parameters: weights, to: dir)
        XCTAssertTrue(ClassifierFolder.isClassifier(dir))
        let model = try TweedieClassifier(folder: dir)
        XCTAssertEqual(model.config, config)
        XCTAssertEqual(model.parameterCount, net.parameterCount)
        let logits = try model.logits(images)
        // Measured 0 (bit-identical: the same kernels on both paths) (worst of 5 OpenBLAS kernels); 1e-7 is one float32 rounding.
        assertMeasured(relativeError(twin, logits), tolerance: 1e-7, "classifier twin")
        // Chunked batches give the same rows as one pass.
        model.chunkSize = 2
        XCTAssertEqual(try model.logits(images).data, logits.data)

        let predictions = try model.predict(images)
        for (i, p) in predictions.enumerated() {
            XCTAssertEqual(p.probabilities.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(p.label, ClassifierTrainer.argmax(logits)[i])
            XCTAssertEqual(p.className, config.classNames[p.label])
            XCTAssertEqual(p.confidence, p.probabilities.max())
        }
    }

    func testConfigRoundTripAndErrors() throws {
        let config = ClassifierConfig(classNames: FashionMNIST.classNames)
        let parsed = try ClassifierConfig(json: JSONConfig(data: Data(config.jsonText.utf8), path: "c.json"))
        XCTAssertEqual(parsed, config)
        func message(_ json: String) -> String {
            do {
                _ = try ClassifierConfig(json: JSONConfig(data: Data(json.utf8), path: "c.json"))
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(message(#"{"_class_name": "UNet2DModel"}"#).contains("'_class_name'"))
        XCTAssertTrue(message(#"{"_class_name": "TweedieClassifier", "block_out_channels": [8]}"#)
            .contains("'sample_size'"))
        let base = #""_class_name": "TweedieClassifier", "sample_size": 32, "block_out_channels": [8, 16]"#
        XCTAssertTrue(message("{\(base), \"num_classes\": 3, \"class_names\": [\"x\"]}").contains("'class_names'"))
        XCTAssertTrue(message("{\(base), \"num_classes\": 3, \"norm_num_groups\": 3}").contains("'block_out_channels'"))
        XCTAssertTrue(message("{\(base)}").contains("'num_classes'"))
        XCTAssertEqual(message("{\(base), \"num_classes\": 4}"), "no error")
    }

    /// Missing, mis-shaped and unexpected tensors are badInput naming the file and the tensor.
    func testBadCheckpointNamesFileAndTensor() throws {
        let config = Self.tinyConfig()
        let weights = try TweedieClassifier.initialParameters(config: config, seed: 0)
        let dir = try makeScratchDirectory("classifier-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ClassifierFolder.write(config: config, parameters: weights, to: dir)
        let file = dir + "/model.safetensors"
        func loadError() -> String {
            do { _ = try TweedieClassifier(folder: dir); return "loaded" } catch { return "\(error)" }
        }
        try SafeTensorsWriter.write(weights.filter { $0.0 != "head.bias" }, to: file)
        XCTAssertTrue(loadError().contains(file) && loadError().contains("'head.bias'"), loadError())
        try SafeTensorsWriter.write(weights.map { $0.0 == "stages.1.0.conv.weight" ? ($0.0, Tensor(shape: [8, 4, 1, 1]))
                                                                                   : $0 }, to: file)
        XCTAssertTrue(loadError().contains("'stages.1.0.conv.weight'") && loadError().contains("[8, 4, 1, 1]"),
                      loadError())
        try SafeTensorsWriter.write(weights + [("extra.weight", Tensor(shape: [2]))], to: file)
        XCTAssertTrue(loadError().contains("unexpected tensor 'extra.weight'"), loadError())
        try FileManager.default.removeItem(atPath: file)
        XCTAssertTrue(loadError().contains(file), loadError())
        XCTAssertThrowsError(try TweedieClassifier(folder: dir + "/absent"))
    }

    func testWrongImageShapeIsBadInput() throws {
        let net = try TweedieClassifier(folder: Self.tiny)
        for shape in [[1, 3, 16, 16], [2, 1, 8, 8], [3, 8, 8]] {
            XCTAssertThrowsError(try net.logits(Tensor(shape: shape))) { error in
                guard let e = error as? TweedieError, e.exitCode == 2 else { return XCTFail("\(error)") }
                XCTAssertTrue(e.message.contains("[N, 3, 8, 8]"), e.message)
            }
        }
    }
}
