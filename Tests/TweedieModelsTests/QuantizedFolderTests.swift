import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// Int8 model folders (`QuantizedFolder`, `WeightLoader.loadDense`): written, loaded back, computed with, refused.
final class QuantizedFolderTests: XCTestCase {
    private func run(_ model: DiffusionModel, _ name: String) throws -> Tensor {
        let io = try ParityFixtures.io(name)
        let labels = io.info("class_labels") == nil ? nil : try io.int64s("class_labels").map { Int($0) }
        return try model.forward(try io.tensor("sample"), timesteps: try io.tensor("timestep").data, classLabels: labels)
    }

    /// Every tensor of a safetensors file, I8 ones kept as int8.
    private func readAll(_ path: String) throws -> (floats: [(String, Tensor)], int8: [(String, [Int8], [Int])]) {
        let f = try SafeTensorsFile(path: path)
        var floats: [(String, Tensor)] = [], int8: [(String, [Int8], [Int])] = []
        for name in f.names {
            let info = f.info(name)!
            if info.dtype == "I8" { int8.append((name, try f.int8s(name, shape: info.shape), info.shape)) }
            else { floats.append((name, try f.tensor(name))) }
        }
        return (floats, int8)
    }

    func testWrittenFolderLoadsAsInt8AndComputesLikeTheInMemoryQuantization() throws {
        for name in ["unet_a", "dit_a"] {
            let dir = try IOScratchDirectory()
            defer { dir.remove() }
            let fixture = try ParityFixtures.path(name)
            let original = try ModelFolder.load(fixture)
            let floatOut = try run(original.diffusionModel!, name)
            let summary = try QuantizedFolder.write(original, to: dir.path("q"))
            // The in-memory quantization `write` made is the reference the folder must reproduce bit for bit.
            let inMemory = try run(original.diffusionModel!, name)

            let loaded = try ModelFolder.load(dir.path("q"))
            let w = loaded.weights
            XCTAssertEqual(loaded.parameterCount, original.parameterCount, name)
            XCTAssertEqual(summary.quantizedLayers, w.denseLayers, name)
            XCTAssertEqual(loaded.dtypes["I8"], w.denseLayers.count, name)
            for prefix in w.denseLayers {
                XCTAssertNil(w.tensors[prefix + ".weight"], "\(name) \(prefix): no Float32 copy of a quantized weight")
                XCTAssertTrue(w.providers[prefix] is Int8Weights, "\(name) \(prefix)")
            }
            // What stays Float32 (biases, norms, embeddings) is a small part of the weights.
            let floatBytes = w.order.reduce(0) { $0 + 4 * w.tensors[$1]!.count }
            XCTAssertLessThan(Double(floatBytes + summary.int8Bytes), 0.4 * Double(4 * original.parameterCount), name)
            let out = try run(loaded.diffusionModel!, name)
            XCTAssertEqual(out.data, inMemory.data, "\(name): the folder holds exactly the in-memory quantization")
            // Measured 1.6e-2 (unet_a) and 8.8e-3 (dit_a) relative on these random-weight networks (Haswell kernel).
            assertMeasured(relativeError(out, floatOut), tolerance: 8e-2, "\(name) int8 folder vs Float32")
        }
    }

    func testMissingOrBadScaleIsAOneLineErrorNamingIt() throws {
        let dir = try IOScratchDirectory()
        defer { dir.remove() }
        try QuantizedFolder.write(try ModelFolder.load(try ParityFixtures.path("unet_a")), to: dir.path("q"))
        let weights = dir.path("q/" + ModelFolder.weightsFile)
        let all = try readAll(weights)
        let scale = "conv_in" + Int8Weights.scaleSuffix
        XCTAssertTrue(all.floats.contains { $0.0 == scale })
        try SafeTensorsWriter.write(all.floats.filter { $0.0 != scale }, int8: all.int8, to: weights)
        assertModelBadInput([weights, "conv_in.weight", scale]) { _ = try ModelFolder.load(dir.path("q")) }

        let negative = all.floats.map { $0.0 == scale ? ($0.0, Tensor(shape: $0.1.shape, repeating: -1)) : $0 }
        try SafeTensorsWriter.write(negative, int8: all.int8, to: weights)
        assertModelBadInput([weights, scale, ">= 0"]) { _ = try ModelFolder.load(dir.path("q")) }

        let short = all.floats.map { $0.0 == scale ? ($0.0, Tensor(shape: [1], repeating: 1)) : $0 }
        try SafeTensorsWriter.write(short, int8: all.int8, to: weights)
        assertModelBadInput([weights, scale, "[1]"]) { _ = try ModelFolder.load(dir.path("q")) }
    }

    func testInt8TensorsRoundTripThroughTheWriter() throws {
        let dir = try IOScratchDirectory()
        defer { dir.remove() }
        let values: [Int8] = [-127, -1, 0, 1, 127, 5]
        try SafeTensorsWriter.write([("s", Tensor(shape: [2], data: [0.5, 2]))], int8: [("q", values, [2, 3])],
                                    to: dir.path("t.safetensors"))
        let f = try SafeTensorsFile(path: dir.path("t.safetensors"))
        XCTAssertEqual(f.info("q"), SafeTensorInfo(dtype: "I8", shape: [2, 3]))
        XCTAssertEqual(try f.int8s("q", shape: [2, 3]), values)
        XCTAssertEqual(try f.int64s("q"), values.map { Int64($0) })
        assertModelBadInput(["'q'", "[3, 2]"]) { _ = try f.int8s("q", shape: [3, 2]) }
        assertModelBadInput(["'s'", "F32", "I8"]) { _ = try f.int8s("s", shape: [2]) }
    }
}
