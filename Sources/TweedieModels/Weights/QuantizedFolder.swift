import Foundation
import TweedieCore

/// A model folder with int8 weights: the config of the original kind plus a `tweedie_quantization` entry, and one
/// safetensors file in which every quantized linear or convolution layer stores `<prefix>.weight` as I8 (the
/// weight's shape) and `<prefix>.weight_scale` as F32 [out]; biases, norms, embedding tables and layers left in
/// Float32 keep their F32 tensors under their diffusers names. `ModelFolder.load` reads it like any folder (the
/// loader goes by each weight's dtype, so the config entry is a description, not a switch).
public enum QuantizedFolder {
    /// The config.json key that describes the quantization.
    public static let configKey = "tweedie_quantization"

    /// What was written.
    public struct Summary: Sendable, Equatable {
        /// Layers stored as int8.
        public var quantizedLayers: [String]
        /// Dense layers left in Float32.
        public var floatLayers: [String]
        /// Bytes of int8 values plus their Float32 scales.
        public var int8Bytes: Int
        /// Bytes of the Float32 tensors that remain.
        public var floatBytes: Int
    }

    /// Quantizes the dense layers of `model` that `include` accepts (in place, see `Int8Weights.quantize`) and
    /// writes the model to `directory` (each file under a temporary name, then renamed).
    @discardableResult
    public static func write(_ model: LoadedModel, to directory: String,
                             include: (String) -> Bool = { _ in true }) throws -> Summary {
        Int8Weights.quantize(model.weights, include: include)
        let w = model.weights
        var int8: [(String, [Int8], [Int])] = []
        var scales: [(String, Tensor)] = []
        var quantized: [String] = [], kept: [String] = []
        var int8Bytes = 0
        for prefix in w.denseLayers {
            guard let q = w.providers[prefix] as? Int8Weights else {
                kept.append(prefix)
                continue
            }
            int8.append((prefix + ".weight", q.values, q.shape))
            scales.append((prefix + Int8Weights.scaleSuffix, Tensor(shape: [q.scales.count], data: q.scales)))
            quantized.append(prefix)
            int8Bytes += q.byteCount
        }
        let floats = w.order.map { ($0, w.tensors[$0]!) }
        let description: [String: Any] = [
            "method": "int8 weight-only", "granularity": "per output channel", "symmetric": true,
            "scale": "max|W[o]| / 127", "scale_tensor_suffix": Int8Weights.scaleSuffix,
            "layers": quantized.count, "float_layers": kept,
        ]
        try ModelFolder.write(model, tensors: floats + scales, int8: int8, config: [configKey: description],
                              to: directory, metadata: ["format": "tweedie-int8"])
        return Summary(quantizedLayers: quantized, floatLayers: kept, int8Bytes: int8Bytes,
                       floatBytes: floats.reduce(0) { $0 + 4 * $1.1.count })
    }
}
