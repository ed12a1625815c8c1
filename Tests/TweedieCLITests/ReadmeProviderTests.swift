import XCTest
import TweedieTestSupport
import Tweedie

/// README's "A weight provider of your own", verbatim: a user-written provider with public API only.
final class ScaledWeights: WeightProvider {
    let strength: Float
    init(strength: Float) { self.strength = strength }

    func linear(_ prefix: String, _ x: Variable, in s: ForwardScope) -> Variable {
        let t = s.tape
        return t.linear(x, t.scale(s.param(prefix + ".weight"), strength), s.optionalParam(prefix + ".bias"))
    }

    func conv2d(_ prefix: String, _ x: Variable, stride: Int, padding: Int, in s: ForwardScope) -> Variable {
        let t = s.tape
        return t.conv2d(x, t.scale(s.param(prefix + ".weight"), strength), s.optionalParam(prefix + ".bias"),
                        stride: stride, padding: padding)
    }
}

final class ReadmeProviderTests: XCTestCase {
    /// conv_out is the last layer, so the output is affine in its weight: strength 1 is the plain model bit for bit,
    /// and out(s) = b + s·(out(1) - b) for the bias b of each output channel.
    func testTheReadmeProviderScalesTheLayerItIsSetOn() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("assets/fashion32").path
        let model = try ModelFolder.load(path)
        let net = try XCTUnwrap(model.diffusionModel)
        let count = net.sampleShape.reduce(1, *)
        let x = Tensor(shape: [1] + net.sampleShape, data: (0..<count).map { (i: Int) -> Float in Float(i % 13) / 13 - 0.5 })
        let plain = try net.forward(x, timesteps: [500], classLabels: [3])
        model.weights.setProvider(ScaledWeights(strength: 1), for: "conv_out")
        XCTAssertEqual(try net.forward(x, timesteps: [500], classLabels: [3]).data, plain.data)
        model.weights.setProvider(ScaledWeights(strength: 0.8), for: "conv_out")
        let scaled = try net.forward(x, timesteps: [500], classLabels: [3])
        let bias = try XCTUnwrap(model.weights.tensors["conv_out.bias"])
        let per = plain.count / bias.count
        var expected = [Float](repeating: 0, count: plain.count)
        for i in 0..<plain.count {
            let b = bias.data[i / per]
            expected[i] = b + 0.8 * (plain.data[i] - b)
        }
        let err = maxAbsError(scaled.data, expected)
        assertMeasured(Double(err), tolerance: 1e-5, "README provider: out(0.8) against b + 0.8·(out(1) - b)")
        model.weights.setProvider(nil as (any WeightProvider)?, for: "conv_out")
        XCTAssertEqual(try net.forward(x, timesteps: [500], classLabels: [3]).data, plain.data)
    }
}
