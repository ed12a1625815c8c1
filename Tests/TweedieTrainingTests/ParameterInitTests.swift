import XCTest
import TweedieCore
import TweedieModels

/// Building a model from its config alone: PyTorch's default initialisation under diffusers' names.
final class ParameterInitTests: XCTestCase {
    func testPyTorchDefaultsPerParameterKind() throws {
        let config = try TrainingFixtures.unetConfig(TrainingFixtures.models("unet_b"))
        let params = Dictionary(uniqueKeysWithValues: try UNet2DModel.initialParameters(config: config, seed: 5))
        let convW = try XCTUnwrap(params["down_blocks.1.resnets.0.conv1.weight"])   // [16, 8, 3, 3]
        let bound = 1 / Float(8 * 9).squareRoot()
        XCTAssertLessThanOrEqual(convW.maxAbs, bound)
        XCTAssertGreaterThan(convW.maxAbs, 0.9 * bound)
        let mean = convW.data.reduce(0, +) / Float(convW.count)
        let variance = convW.data.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(convW.count)
        XCTAssertEqual(variance.squareRoot(), bound / Float(3).squareRoot(), accuracy: 0.1 * bound, "U(±b) std b/√3")
        let convB = try XCTUnwrap(params["down_blocks.1.resnets.0.conv1.bias"])
        XCTAssertLessThanOrEqual(convB.maxAbs, bound, "bias bound from the weight's fan-in")
        XCTAssertGreaterThan(convB.maxAbs, 0)
        let linB = try XCTUnwrap(params["time_embedding.linear_2.bias"])           // weight [32, 32]
        XCTAssertLessThanOrEqual(linB.maxAbs, 1 / Float(32).squareRoot())
        XCTAssertEqual(params["down_blocks.1.resnets.0.norm1.weight"]?.data.allSatisfy { $0 == 1 }, true)
        XCTAssertEqual(params["down_blocks.1.resnets.0.norm1.bias"]?.data.allSatisfy { $0 == 0 }, true)
        let table = try XCTUnwrap(params["class_embedding.weight"])                // nn.Embedding: N(0, 1)
        let std = (table.data.reduce(0) { $0 + $1 * $1 } / Float(table.count)).squareRoot()
        XCTAssertEqual(std, 1, accuracy: 0.25)
    }

    func testValuesDependOnSeedAndNameNotOrder() throws {
        let source = InitializingWeightSource(seed: 9)
        let store = WeightStore(source: source)
        let b = try store.tensor("x.conv.weight", shape: [4, 2, 3, 3])
        let a = try store.tensor("a.linear.weight", shape: [5, 6])
        let other = InitializingWeightSource(seed: 9)
        XCTAssertEqual(try other.tensor("a.linear.weight", shape: [5, 6]), a)
        XCTAssertEqual(try other.tensor("x.conv.weight", shape: [4, 2, 3, 3]), b)
        XCTAssertNotEqual(try InitializingWeightSource(seed: 10).tensor("a.linear.weight", shape: [5, 6]), a)
        XCTAssertEqual(source.names, ["x.conv.weight", "a.linear.weight"])
        XCTAssertThrowsError(try source.tensor("a.linear.weight", shape: [6, 5]))
    }

    /// Built over a table source, the inference model runs with the given weights and reports strays.
    func testTensorTableSourceBuildsTheInferenceModel() throws {
        let folder = TrainingFixtures.models("unet_a")
        let weights = try TrainingFixtures.weights(folder)
        let config = try TrainingFixtures.unetConfig(folder)
        let store = WeightStore(source: TensorTableSource(weights + [("stray.weight", Tensor(shape: [1]))]))
        let model = try UNet2DModel(config: config, store: store, configPath: "config")
        XCTAssertThrowsError(try store.finish(modelName: "UNet2DModel")) {
            XCTAssertTrue(($0 as? TweedieError)?.message.contains("stray.weight") ?? false)
        }
        guard let reference = try ModelFolder.load(folder) as? UNet2DModel else { return XCTFail("not a UNet") }
        let x = Tensor(shape: [1, 3, 16, 16], data: (0..<768).map { sinf(Float($0)) })
        XCTAssertEqual(try model.forward(x, timesteps: [10], classLabels: nil),
                       try reference.forward(x, timesteps: [10], classLabels: nil))
    }
}
