import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// An int8 forward pass without gradients dequantizes every layer into one reused buffer, and computes exactly what
/// the per-layer tensors of a pass with gradients compute.
final class DequantizationScratchTests: XCTestCase {
    func testScratchPassEqualsThePerLayerTensorsAndHoldsOneLayer() throws {
        for name in ["unet_a", "dit_a"] {
            guard let model = try ModelFolder.load(try ParityFixtures.path(name)) as? DiffusionModel else {
                return XCTFail("\(name) is a diffusion model")
            }
            let sizes = model.weights.denseLayers.compactMap { model.weights.tensors[$0 + ".weight"]?.count }
            XCTAssertEqual(Int8Weights.quantize(model.weights).count, sizes.count)
            let io = try ParityFixtures.io(name)
            let sample = try io.tensor("sample"), times = try io.tensor("timestep").data
            let labels = io.info("class_labels") == nil ? nil : try io.int64s("class_labels").map { Int($0) }

            let plain = Tape()
            let scope = ForwardScope(tape: plain, weights: model.weights)
            let scratchOut = try model.forward(scope, sample: plain.constant(sample), timesteps: times,
                                               classLabels: labels).value
            // One buffer the size of the largest layer (every fixture layer fits in one panel), not one per layer.
            XCTAssertGreaterThanOrEqual(scope.dequantizationScratch.capacity, sizes.max()!)
            XCTAssertLessThan(Double(scope.dequantizationScratch.capacity), 1.1 * Double(sizes.max()!), name)
            XCTAssertLessThan(scope.dequantizationScratch.capacity, sizes.reduce(0, +), name)

            // A gradient to the input sends every int8 layer through the tape with a tensor of its own.
            let tape = Tape()
            let x = tape.leaf(sample, requiresGrad: true)
            let taped = try model.forward(tape: tape, sample: x, timesteps: times, classLabels: labels).value
            XCTAssertEqual(scratchOut.data, taped.data, "\(name): the same kernels on the same weights")
        }
    }
}

/// Layers wider than one panel are computed panel by panel and match the whole dequantized weight.
final class Int8PanelForwardTests: XCTestCase {
    private func values(_ n: Int, seed: UInt64, scale: Float) -> [Float] {
        (0..<n).map { (2 * CounterRandom.uniform(seed: seed, index: $0) - 1) * scale }
    }

    func testSplitLayersEqualTheWholeWeight() throws {
        // 64 x 2048 x 3 x 3 (18,432 per channel: 56 channels a panel) and 600 x 2000 (524 a panel).
        let conv = Tensor(shape: [64, 2048, 3, 3], data: values(64 * 2048 * 9, seed: 1, scale: 0.05))
        let dense = Tensor(shape: [600, 2000], data: values(600 * 2000, seed: 2, scale: 0.05))
        let weights = ModelWeights()
        weights.insert("conv.weight", conv)
        weights.insert("conv.bias", Tensor(shape: [64], data: values(64, seed: 3, scale: 1)))
        weights.insert("fc.weight", dense)
        weights.insert("fc.bias", Tensor(shape: [600], data: values(600, seed: 4, scale: 1)))
        weights.registerDense("conv")
        weights.registerDense("fc")
        XCTAssertEqual(Int8Weights.quantize(weights), ["conv", "fc"])
        let qc = try XCTUnwrap(weights.providers["conv"] as? Int8Weights)
        let qf = try XCTUnwrap(weights.providers["fc"] as? Int8Weights)
        XCTAssertGreaterThan(conv.count, Int8Weights.panelBudget, "the convolution is split")
        XCTAssertGreaterThan(dense.count, Int8Weights.panelBudget, "the linear layer is split")

        let x = Tensor(shape: [2, 2048, 5, 5], data: values(2 * 2048 * 25, seed: 5, scale: 1))
        let v = Tensor(shape: [3, 2000], data: values(3 * 2000, seed: 6, scale: 1))
        let tape = Tape()
        let scope = ForwardScope(tape: tape, weights: weights)
        let yc = scope.conv2d("conv", tape.constant(x), stride: 1, padding: 1).value
        let yf = scope.linear("fc", tape.constant(v)).value
        XCTAssertLessThanOrEqual(scope.dequantizationScratch.capacity, Int8Weights.panelBudget,
                                 "no more than one panel of Float32 weight")

        let wholeC = TweedieCore.conv2d(x, weight: qc.dequantized(), bias: weights.tensors["conv.bias"], stride: 1,
                                        padding: 1)
        let wholeF = TweedieCore.linear(v, weight: qf.dequantized(), bias: weights.tensors["fc.bias"])
        XCTAssertEqual(yc.shape, wholeC.shape)
        XCTAssertEqual(yf.shape, wholeF.shape)
        // Each output element is the same dot product over the same inputs; only the GEMM's row count differs.
        XCTAssertLessThanOrEqual(yc.maxAbsDifference(wholeC), 1e-5 * wholeC.maxAbs, "convolution panels")
        XCTAssertLessThanOrEqual(yf.maxAbsDifference(wholeF), 1e-5 * wholeF.maxAbs, "linear panels")
        print("Int8PanelForwardTests: max |panels - whole| conv \(yc.maxAbsDifference(wholeC)) of \(wholeC.maxAbs), "
              + "linear \(yf.maxAbsDifference(wholeF)) of \(wholeF.maxAbs)")
    }
}
