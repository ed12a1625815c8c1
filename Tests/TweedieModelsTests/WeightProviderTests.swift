import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// The weight providers (LoRA, int8, gates) on the diffusers fixtures, and narrowing of gated models.
final class WeightProviderTests: XCTestCase {
    private func load(_ name: String) throws -> LoadedModel { try ModelFolder.load(try ParityFixtures.path(name)) }

    private func run(_ model: DiffusionModel, _ name: String) throws -> Tensor {
        let io = try ParityFixtures.io(name)
        let labels = io.info("class_labels") == nil ? nil : try io.int64s("class_labels").map { Int($0) }
        return try model.forward(try io.tensor("sample"), timesteps: try io.tensor("timestep").data, classLabels: labels)
    }

    /// Fills `name` with deterministic values in ±scale.
    private func randomize(_ w: ModelWeights, _ name: String, seed: UInt64, scale: Float) {
        let t = w.tensors[name]!
        w.insert(name, Tensor(shape: t.shape, data: (0..<t.count).map {
            (2 * CounterRandom.uniform(seed: seed, index: $0) - 1) * scale
        }))
    }

    func testLoRAStartsAtTheBaseModelAndMergesToTheSameOutput() throws {
        guard let m = try load("unet_b") as? UNet2DModel else { return XCTFail("unet_b is a UNet") }
        let base = try run(m, "unet_b")
        let layers = ["down_blocks.1.attentions.0.to_q", "mid_block.resnets.0.conv1", "up_blocks.0.resnets.1.conv2"]
        var providers: [LoRAWeights] = []
        for (i, layer) in layers.enumerated() {
            providers.append(try LoRAWeights.attach(to: m.weights, layer: layer, rank: 2, alpha: 4, seed: UInt64(i)))
        }
        // B starts at zero: adding 0·(B·A) leaves every value as it was.
        XCTAssertEqual(try run(m, "unet_b").data, base.data)
        for (i, layer) in layers.enumerated() { randomize(m.weights, layer + ".lora_B.weight", seed: 90 + UInt64(i), scale: 0.2) }
        let unmerged = try run(m, "unet_b")
        XCTAssertGreaterThan(relativeError(unmerged, base), 1e-3, "the update must change the output")
        for (layer, p) in zip(layers, providers) { p.merge(layer, in: m.weights) }
        let merged = try run(m, "unet_b")
        // Measured 6.1e-7 (worst of 5 OpenBLAS kernels): W + s·B·A folded once vs the low-rank path each call.
        assertMeasured(relativeError(merged, unmerged), tolerance: 3e-6, "LoRA merged vs unmerged")
        for (layer, p) in zip(layers, providers) { p.unmerge(layer, in: m.weights) }
        let back = try run(m, "unet_b")
        // Measured 5.2e-7 (worst of 5 OpenBLAS kernels): the base weight back to the rounding of W + u - u.
        assertMeasured(relativeError(back, unmerged), tolerance: 3e-6, "LoRA unmerged again")
    }

    /// Training only the factors: gradients reach lora_A/lora_B (checked against finite differences), the frozen
    /// base weights get none.
    func testLoRAFactorsTrainWithTheBaseFrozen() throws {
        guard let m = try load("dit_a") as? DiTTransformer2DModel else { return XCTFail("dit_a is a DiT") }
        let layer = "transformer_blocks.0.attn1.to_v"
        try LoRAWeights.attach(to: m.weights, layer: layer, rank: 2, alpha: 2, seed: 3)
        randomize(m.weights, layer + ".lora_B.weight", seed: 4, scale: 0.3)
        let io = try ParityFixtures.io("dit_a")
        let x = try io.tensor("sample"), t = try io.tensor("timestep").data
        let labels = try io.int64s("class_labels").map { Int($0) }
        func loss(_ a: Tensor?) throws -> (Double, Tensor?) {
            let tape = Tape()
            let aName = layer + ".lora_A.weight"
            let leaf = tape.leaf(a ?? m.weights.tensors[aName]!, requiresGrad: true)
            let scope = ForwardScope(tape: tape, weights: m.weights, given: [aName: leaf])
            let out = try m.forward(scope, sample: tape.constant(x), timesteps: t, classLabels: labels)
            let l = tape.sum(tape.mul(out, out))
            let g = tape.gradients(of: l, wrt: [leaf])[0]
            // The difference quotient needs the objective summed in Double (a Float32 sum's rounding, over h, is
            // larger than the truncation error).
            return (out.value.data.reduce(0.0) { $0 + Double($1) * Double($1) }, g)
        }
        let a0 = m.weights.tensors[layer + ".lora_A.weight"]!
        let (_, g) = try loss(nil)
        let grad = try XCTUnwrap(g)
        XCTAssertGreaterThan(grad.maxAbs, 0)
        let h: Float = 1e-2
        for j in [0, 7, 19] {
            var plus = a0, minus = a0
            plus.data[j] += h
            minus.data[j] -= h
            let numeric = (try loss(plus).0 - loss(minus).0) / Double(2 * h)
            // Measured 4.2e-4 to 1.4e-3 relative (worst of 5 OpenBLAS kernels; float32 forward, central difference).
            assertMeasured(abs(numeric - Double(grad.data[j])) / max(abs(numeric), 1e-6), tolerance: 7e-3,
                           "LoRA factor gradient element \(j)")
        }
    }

    func testInt8ErrorIsBoundedPerChannel() throws {
        guard let m = try load("unet_a") as? UNet2DModel else { return XCTFail("unet_a is a UNet") }
        let base = try run(m, "unet_a")
        let originals = m.weights.denseLayers.map { ($0, m.weights.tensors[$0 + ".weight"]!) }
        let floatBytes = originals.reduce(0) { $0 + 4 * $1.1.count }
        let layers = Int8Weights.quantize(m.weights)
        XCTAssertEqual(layers.count, originals.count)
        var int8Bytes = 0
        for (prefix, w) in originals {
            XCTAssertNil(m.weights.tensors[prefix + ".weight"], "the Float32 weight leaves the table")
            let q = try XCTUnwrap(m.weights.providers[prefix] as? Int8Weights)
            int8Bytes += q.byteCount
            let d = q.dequantized(), per = w.count / w.shape[0]
            for o in 0..<w.shape[0] {
                // Rounding to the nearest step: at most half a step, and the channel's largest weight is exact.
                for j in 0..<per {
                    XCTAssertLessThanOrEqual(abs(d.data[o * per + j] - w.data[o * per + j]), q.scales[o] / 2 * 1.0001,
                                             "\(prefix) channel \(o)")
                }
            }
        }
        XCTAssertLessThan(Double(int8Bytes), 0.3 * Double(floatBytes), "int8 storage is about a quarter of Float32")
        // Measured 1.6e-2 relative (worst of 5 OpenBLAS kernels) on this random-weight network, 8-bit weights in
        // every layer.
        assertMeasured(relativeError(try run(m, "unet_a"), base), tolerance: 8e-2, "int8 unet_a output")
    }

    func testGatesOfOneEqualThePlainModel() throws {
        guard let dit = try load("dit_a") as? DiTTransformer2DModel, let unet = try load("unet_b") as? UNet2DModel else {
            return XCTFail("fixtures")
        }
        for (model, name) in [(dit as DiffusionModel & PrunableModel, "dit_a"), (unet, "unet_b")] {
            let plain = try run(model, name)
            for g in model.prunableGroups {
                try GatedWeights.attach(to: model.weights, layer: g.consumer, groupSize: g.unitSize)
            }
            XCTAssertEqual(try run(model, name).data, plain.data, "\(name): gates of 1 change nothing")
        }
    }

    /// Gates at 0, then the narrowed tensors loaded as a model of their own: the same outputs, a smaller network.
    func testNarrowedModelEqualsTheMaskedOne() throws {
        for name in ["dit_a", "unet_b"] {
            let loaded = try load(name)
            guard let model = loaded as? DiffusionModel & PrunableModel else { return XCTFail(name) }
            let groups = model.prunableGroups
            for (i, g) in groups.enumerated() {
                try GatedWeights.attach(to: model.weights, layer: g.consumer, groupSize: g.unitSize)
                // Keep unit 0 and every third after it; the rest go.
                let gates = Tensor(shape: [g.count], data: (0..<g.count).map { ($0 + i) % 3 == 0 || $0 == 0 ? 1 : 0 })
                model.weights.insert(g.consumer + ".gates", gates)
            }
            let masked = try run(model, name)
            let (tensors, widths) = try Narrowing.narrowed(model)
            XCTAssertEqual(widths.count, groups.count)
            // The narrowed folder: config + tweedie_layer_widths + tensors, loaded back through the registry.
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-narrow-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try ModelFolder.write(loaded, tensors: tensors, widths: widths, to: dir)
            let smaller = try XCTUnwrap(try ModelFolder.load(dir).diffusionModel)
            XCTAssertLessThan(smaller.parameterCount, model.parameterCount - groups.count, name)
            // Measured 1.9e-7 (dit_a) and 5.1e-7 (unet_b), worst of 5 OpenBLAS kernels: the same sums without the
            // zero terms.
            assertMeasured(relativeError(try run(smaller, name), masked), tolerance: name == "dit_a" ? 1e-6 : 3e-6,
                           "narrowed \(name)")
        }
    }
}
