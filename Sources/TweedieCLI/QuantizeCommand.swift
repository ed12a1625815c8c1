import ArgumentParser
import Foundation
import Tweedie

/// `tweedie quantize`: writes a copy of a model folder with int8 weights (per output channel, symmetric).
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Copy a model folder with int8 weight-only quantization of its linear and convolution layers.",
        discussion: """
            Every linear and convolution weight W [out, ...] is stored as I8 values q = round(W / s) with one Float32 \
            scale per output channel s[o] = max|W[o]| / 127: `<layer>.weight` (I8) and `<layer>.weight_scale` (F32 \
            [out]). Biases, norms and embedding tables stay Float32. generate, info, bench and forward load the \
            folder like any other and dequantize one layer at a time. The folder is written under a temporary name \
            and renamed when complete; --out must not exist.
            """)

    @Option(name: [.short, .customLong("model")], help: "Model folder to quantize (bare network or pipeline folder).")
    var model: String
    @Option(help: "Output folder (must not exist).")
    var out: String
    @Option(name: .customLong("keep-float"),
            help: "Comma-separated layers or blocks to leave in Float32, e.g. conv_in,conv_out.")
    var keepFloat: String?
    @Flag(help: "Print one JSON object (per model folder: layers, int8 and float bytes).")
    var json = false

    func run() throws {
        let keep = (keepFloat ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let entries = try FolderQuantizer.quantize(from: model, to: out, keepFloat: keep)
        if json {
            let list: [JSONOutput] = entries.map { e in
                .object(["folder": .string(e.folder), "class_name": .string(e.className),
                         "quantized_layers": .int(e.summary.quantizedLayers.count),
                         "float_layers": .array(e.summary.floatLayers.map { .string($0) }),
                         "int8_bytes": .int(e.summary.int8Bytes), "float_bytes": .int(e.summary.floatBytes)])
            }
            print(JSONOutput.object(["out": .string(out), "models": .array(list)]).text)
            return
        }
        for e in entries {
            let mb = { (b: Int) in String(format: "%.2f MB", Double(b) / 1_048_576) }
            print("\(e.folder == "." ? out : (out as NSString).appendingPathComponent(e.folder)): \(e.className), "
                  + "\(e.summary.quantizedLayers.count) layers int8 (\(mb(e.summary.int8Bytes)) with scales), "
                  + "\(e.summary.floatLayers.count) kept Float32, other Float32 tensors \(mb(e.summary.floatBytes))")
        }
    }
}
