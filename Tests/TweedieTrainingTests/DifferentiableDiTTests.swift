import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// The tape forward of DiTTransformer2DModel against the inference model and diffusers' outputs, its parameter
/// list and its adaLN-Zero initialisation.
final class DifferentiableDiTTests: XCTestCase {
    private func forward(_ net: DiTTransformer2DModel, _ weights: [(String, Tensor)], _ x: Tensor, _ t: [Float],
                         _ labels: [Int]) throws -> Tensor {
        let tape = Tape()
        let params = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, tape.constant($0.1)) })
        return try net.forward(tape, parameters: params, sample: tape.constant(x), timesteps: t,
                               classLabels: labels).value
    }

    /// The committed parity fixtures: a DiTTransformer2DModel (also at twice its size, interpolated positions)
    /// and a legacy Transformer2DModel DiT with GELU and an affine feed-forward norm.
    func testForwardMatchesInferenceModelOnFixtures() throws {
        for (name, suffix) in [("dit_a", ""), ("dit_a", "_large"), ("dit_b_transformer2d", "")] {
            let folder = TrainingFixtures.models(name)
            guard let model = try ModelFolder.load(folder) as? DiTTransformer2DModel else { return XCTFail("\(name): not a DiT") }
            let io = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent("io.safetensors"))
            let sample = try io.tensor("sample" + suffix), timesteps = try io.tensor("timestep").data
            let labels = try io.int64s("class_labels").map { Int($0) }
            let net = try DiTTransformer2DModel.network(config: TrainingFixtures.ditConfig(folder))
            let out = try forward(net, try TrainingFixtures.weights(folder), sample, timesteps, labels)
            let reference = try model.forward(sample, timesteps: timesteps, classLabels: labels)
            XCTAssertEqual(out.shape, reference.shape, name)
            // Measured 0 (bit-identical: the same kernels on both paths) (worst of 5 OpenBLAS kernels).
            assertMeasured(relativeError(out, reference), tolerance: 1e-7, "differentiable \(name)\(suffix) vs inference")
            // Measured 1.3e-6 to 2.0e-6 (worst of 5 OpenBLAS kernels).
            assertMeasured(relativeError(out, try io.tensor("expected" + suffix)), tolerance: 1e-5,
                           "differentiable \(name)\(suffix) vs diffusers")
            XCTAssertEqual(net.parameterCount, model.parameterCount, name)
        }
    }

    /// The parameter list built from the config names exactly the tensors diffusers saved; strays and missing
    /// tensors are refused by name.
    func testParameterNamesMatchCheckpoint() throws {
        for name in ["dit_a", "dit_b_transformer2d"] {
            let folder = TrainingFixtures.models(name)
            let net = try DiTTransformer2DModel.network(config: TrainingFixtures.ditConfig(folder))
            let saved = try TrainingFixtures.weights(folder)
            XCTAssertEqual(Set(net.parameterShapes.map(\.name)), Set(saved.map(\.0)), name)
            var shapes = Dictionary(uniqueKeysWithValues: saved.map { ($0.0, $0.1.shape) })
            try net.validate(shapes, source: name)
            shapes["stray.weight"] = [1]
            XCTAssertThrowsError(try net.validate(shapes, source: name)) {
                XCTAssertTrue(($0 as? TweedieError)?.message.contains("stray.weight") ?? false, "\($0)")
            }
            shapes["stray.weight"] = nil
            shapes["proj_out_2.bias"] = nil
            XCTAssertThrowsError(try net.validate(shapes, source: name)) {
                XCTAssertTrue(($0 as? TweedieError)?.message.contains("proj_out_2.bias") ?? false, "\($0)")
            }
        }
    }

    /// adaLN-Zero: modulation and final layers zero (so the initial output is exactly zero), linear weights
    /// xavier-uniform, embedders N(0, 0.02²), biases zero; values depend on the seed.
    func testAdaLNZeroInitialisation() throws {
        let config = try TrainingFixtures.ditConfig(TrainingFixtures.models("dit_a"))   // D = 16, 2 blocks
        let params = Dictionary(uniqueKeysWithValues: try DiTTransformer2DModel.initialParameters(config: config, seed: 3))
        for name in ["transformer_blocks.0.norm1.linear.weight", "transformer_blocks.1.norm1.linear.bias",
                     "proj_out_1.weight", "proj_out_2.weight", "proj_out_2.bias", "pos_embed.proj.bias",
                     "transformer_blocks.0.attn1.to_q.bias"] {
            XCTAssertEqual(try XCTUnwrap(params[name], name).maxAbs, 0, name)
        }
        let ff = try XCTUnwrap(params["transformer_blocks.0.ff.net.0.proj.weight"])   // [64, 16]
        let bound = (6 / Float(64 + 16)).squareRoot()
        XCTAssertLessThanOrEqual(ff.maxAbs, bound)
        XCTAssertGreaterThan(ff.maxAbs, 0.9 * bound)
        let patch = try XCTUnwrap(params["pos_embed.proj.weight"])                    // [16, 4, 2, 2]
        XCTAssertLessThanOrEqual(patch.maxAbs, (6 / Float(16 + 16)).squareRoot())
        for name in ["transformer_blocks.0.norm1.emb.class_embedder.embedding_table.weight",
                     "transformer_blocks.1.norm1.emb.timestep_embedder.linear_1.weight"] {
            let t = try XCTUnwrap(params[name], name)
            let std = (t.data.reduce(0) { $0 + $1 * $1 } / Float(t.count)).squareRoot()
            XCTAssertEqual(std, 0.02, accuracy: 0.005, name)
        }
        let net = try DiTTransformer2DModel.network(config: config)
        let x = Tensor(shape: [2, 4, 8, 8], data: (0..<512).map { sinf(Float($0)) })
        let out = try forward(net, Array(params), x, [5, 700], [0, 10])
        XCTAssertEqual(out.maxAbs, 0, "zero final layer: zero output")
        let other = Dictionary(uniqueKeysWithValues: try DiTTransformer2DModel.initialParameters(config: config, seed: 4))
        XCTAssertNotEqual(other["transformer_blocks.0.ff.net.0.proj.weight"], ff)
    }

    func testBadInputsAreRefusedByName() throws {
        let folder = TrainingFixtures.models("dit_a")
        let net = try DiTTransformer2DModel.network(config: TrainingFixtures.ditConfig(folder))
        let weights = try TrainingFixtures.weights(folder)
        XCTAssertThrowsError(try forward(net, weights, Tensor(shape: [1, 4, 8, 8]), [1], [11])) {
            XCTAssertTrue(($0 as? TweedieError)?.message.contains("class label 11") ?? false, "\($0)")
        }
        XCTAssertThrowsError(try forward(net, weights, Tensor(shape: [1, 4, 7, 7]), [1], [0])) {
            XCTAssertTrue(($0 as? TweedieError)?.message.contains("patch size") ?? false, "\($0)")
        }
    }
}
