import ArgumentParser
import Foundation
import Tweedie

/// `tweedie info`: what a model folder holds, or (with --system) what the engine runs on.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Describe a model folder, a generated PNG's stored parameters, or the system with --system.")

    @Argument(help: "A model folder (diffusers model or TweedieClassifier), or a PNG written by `tweedie generate`.")
    var path: String?
    @Flag(help: "Print the CPU, threads, CPU flags and the OpenBLAS kernel in use.")
    var system = false
    @Flag(help: "Print only the OpenBLAS kernel this binary computes with, after its core guard (for OPENBLAS_CORETYPE in scripts that must use the CLI's kernel).")
    var openblasCore = false

    func run() throws {
        if openblasCore { return print(SystemInfo.openBLASCore) }
        if system || path == nil {
            let wanted: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
                                       "avx512_vnni", "amx_tile", "f16c"]
            print("cpu: \(SystemInfo.cpuModel)")
            print("threads: \(Runtime.threads)")
            print("cpu flags: \(SystemInfo.cpuFlags.filter { wanted.contains($0) }.joined(separator: " "))")
            print("openblas core: \(SystemInfo.openBLASCore)")
            print("openblas config: \(SystemInfo.openBLASConfig)")
            if path == nil { return }
        }
        guard let path else { return }
        if path.lowercased().hasSuffix(".png") {
            print(try ImageMetadata.describe(pngAt: path), terminator: "")  // ends with its own newline
            return
        }
        // Every kind loads through the registry; what is printed beyond the common facts depends on what the model
        // can do, not on its kind.
        let loaded = try ModelFolder.load(path)
        print("type: \(loaded.className)")
        print("parameters: \(loaded.parameterCount)")
        print("tensors: \(loaded.tensorCount)")
        print("dtypes: " + Self.dtypeLine(loaded.dtypes))
        if let judge = loaded as? TweedieClassifier {
            print("classes: \(judge.config.classNames.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", "))")
        }
        print("config: \(loaded.configJSON)")
    }

    private static func dtypeLine(_ dtypes: [String: Int]) -> String {
        dtypes.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
    }
}
