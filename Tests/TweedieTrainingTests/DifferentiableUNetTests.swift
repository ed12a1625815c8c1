import Foundation
import XCTest
import TweedieTestSupport
import TweedieCore
import TweedieModels

/// The tape forward of UNet2DModel against the inference model and diffusers' outputs.
final class DifferentiableUNetTests: XCTestCase {
    /// Forward value on the committed parity fixtures: plain blocks with centred input (a) and attention, a class
    /// table and scale-shift resnets (b).
    func testForwardMatchesInferenceModelOnFixtures() throws {
        for name in ["unet_a", "unet_b"] {
            let folder = TrainingFixtures.models(name)
            guard let model = try ModelFolder.load(folder) as? UNet2DModel else { return XCTFail("\(name): not a UNet") }
            let io = try SafeTensorsFile(path: (folder as NSString).appendingPathComponent("io.safetensors"))
            let sample = try io.tensor("sample"), timesteps = try io.tensor("timestep").data
            let labels = io.info("class_labels") == nil ? nil : try io.int64s("class_labels").map { Int($0) }
            let net = try UNet2DModel.network(config: TrainingFixtures.unetConfig(folder))
            let tape = Tape()
            let params = Dictionary(uniqueKeysWithValues: try TrainingFixtures.weights(folder).map {
                ($0.0, tape.constant($0.1))
            })
            let out = try net.forward(tape, parameters: params, sample: tape.constant(sample), timesteps: timesteps,
                                      classLabels: labels).value
            let reference = try model.forward(sample, timesteps: timesteps, classLabels: labels)
            XCTAssertEqual(out.shape, reference.shape, name)
            // Measured 0 (bit-identical: the same kernels on both paths) (worst of 5 OpenBLAS kernels).
            assertMeasured(relativeError(out, reference), tolerance: 1e-7, "differentiable \(name) vs inference")
            // Measured 9.0e-7 (worst of 5 OpenBLAS kernels).
            assertMeasured(relativeError(out, try io.tensor("expected")), tolerance: 5e-6, "differentiable \(name) vs diffusers")
            XCTAssertEqual(net.parameterCount, model.parameterCount, name)
        }
    }

    /// The parameter list built from the config names exactly the tensors diffusers saved.
    func testParameterNamesMatchCheckpoint() throws {
        for name in ["unet_a", "unet_b", "unet_d"] {
            let folder = TrainingFixtures.models(name)
            let net = try UNet2DModel.network(config: TrainingFixtures.unetConfig(folder))
            let saved = try TrainingFixtures.weights(folder)
            XCTAssertEqual(Set(net.parameterShapes.map(\.name)), Set(saved.map(\.0)), name)
            try net.validate(Dictionary(uniqueKeysWithValues: saved.map { ($0.0, $0.1.shape) }), source: name)
        }
    }
}
