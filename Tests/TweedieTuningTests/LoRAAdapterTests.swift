import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels
import TweedieTuning

/// LoRA adapters on disk: the diffusers layout round-trips, a merged adapter computes what the low-rank path
/// computes, a file for another model is refused naming the mismatch, and the checkpoint soup mixes factors.
final class LoRAAdapterTests: XCTestCase {
    private func trainedAdapter(seed: UInt64) throws -> (UNet2DModel, LoRAAdapter) {
        let model = try TinyModel.unet()
        let p = try LoRATargets.attention.attach(to: model.weights, rank: 2, alpha: 4, seed: seed)
        for name in p.names where name.hasSuffix("lora_B.weight") {
            model.weights.insert(name, uniformTensor(model.weights.tensors[name]!.shape, seed: seed &+ 99, -0.5, 0.5))
        }
        return (model, LoRAAdapter(from: model.weights, className: "UNet2DModel", info: ["reward": "colorfulness"]))
    }

    func testRoundTripInDiffusersLayout() throws {
        let (_, adapter) = try trainedAdapter(seed: 1)
        let dir = try scratchDirectory("lora-file")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/lora.safetensors"
        try LoRAAdapterFile.write(adapter, to: path)
        XCTAssertEqual(try LoRAAdapterFile.read(path), adapter)
        let file = try SafeTensorsFile(path: path)
        XCTAssert(file.names.contains("unet.down_blocks.1.attentions.0.to_q.lora_A.weight"), "\(file.names)")
        let config = try JSONSerialization.jsonObject(with: Data(file.metadata["lora_adapter_metadata"]!.utf8)) as! [String: Any]
        XCTAssertEqual(config["unet.r"] as? Int, 2)
        XCTAssertEqual(config["unet.lora_alpha"] as? Double, 4)
        XCTAssertEqual((config["unet.target_modules"] as? [String])?.count, adapter.layers.count)
    }

    func testMergedAdapterComputesTheLowRankPath() throws {
        let (withProviders, adapter) = try trainedAdapter(seed: 2)
        let x = uniformTensor([2, 3, 8, 8], seed: 3, -1, 1)
        let unmerged = try withProviders.forward(x, timesteps: [300, 700], classLabels: [0, 2])
        let plain = try TinyModel.unet()
        let base = try plain.forward(x, timesteps: [300, 700], classLabels: [0, 2])
        try adapter.merge(into: plain.weights, scale: 1, className: "UNet2DModel", source: "lora")
        let merged = try plain.forward(x, timesteps: [300, 700], classLabels: [0, 2])
        // Measured 3.9e-7 (W + s·B·A folded once against the low-rank path).
        assertMeasured(relativeError(merged, unmerged), tolerance: 3.9e-6, "LoRA file merged vs low-rank path")
        XCTAssertGreaterThan(relativeError(merged, base), 1e-3)
        let zero = try TinyModel.unet()
        try adapter.merge(into: zero.weights, scale: 0, className: "UNet2DModel", source: "lora")
        XCTAssertEqual(try zero.forward(x, timesteps: [300, 700], classLabels: [0, 2]), base)
    }

    func testAnAdapterForAnotherModelIsRefusedNamingTheMismatch() throws {
        let (_, adapter) = try trainedAdapter(seed: 3)
        let model = try TinyModel.unet()
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch let e as TweedieError where e.exitCode == 2 { return e.message } catch { return "\(error)" }
            return "no error"
        }
        var renamed = adapter
        renamed.layers[0].prefix = "mid_block.attentions.0.to_qq"
        XCTAssert(message { try renamed.check(against: model.weights, className: nil, source: "x.safetensors") }
            .contains("layer 'mid_block.attentions.0.to_qq' is not a linear or convolution layer"))
        var reshaped = adapter
        reshaped.layers[1].a = Tensor(shape: [2, 5])
        let m = message { try reshaped.merge(into: model.weights, scale: 1, className: nil, source: "x.safetensors") }
        XCTAssert(m.hasPrefix("x.safetensors: layer '\(adapter.layers[1].prefix)' has lora_A [2, 5]"), m)
        XCTAssert(message { try adapter.check(against: model.weights, className: "DiTTransformer2DModel", source: "x") }
            .contains("a LoRA for UNet2DModel, the model is DiTTransformer2DModel"))
        XCTAssert(message { try adapter.merge(into: model.weights, scale: -1, className: nil, source: "x") }
            .contains("scale must be a finite number >= 0"))
        // Nothing was merged by the refused calls.
        XCTAssertEqual(model.weights.tensors, try TinyModel.unet().weights.tensors)
    }

    func testSoupMixesFactorsAsTheOfficialCode() throws {
        let (_, a) = try trainedAdapter(seed: 4)
        let (_, b) = try trainedAdapter(seed: 5)
        let half = try CheckpointSoup.mix(a, b, alpha: 0.25)
        XCTAssertEqual(half.layers[0].a.data[3], 0.25 * a.layers[0].a.data[3] + 0.75 * b.layers[0].a.data[3], accuracy: 1e-7)
        XCTAssertEqual(half.layers[2].b.data[1], 0.25 * a.layers[2].b.data[1] + 0.75 * b.layers[2].b.data[1], accuracy: 1e-7)
        let towardBase = try CheckpointSoup.mix(a, nil, alpha: 0.5)
        XCTAssertEqual(towardBase.layers[0].b.data[0], 0.5 * a.layers[0].b.data[0])
        var other = b
        other.layers.removeLast()
        XCTAssertThrowsError(try CheckpointSoup.mix(a, other, alpha: 0.5))
    }
}
