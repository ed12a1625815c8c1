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
            print(try ImageMetadata.describe(pngAt: path), terminator: "")
            return
        }
        if ClassifierFolder.isClassifier(path) { return try describeClassifier(path) }
        let loaded = try ModelFolder.load(path)
        print("type: \(loaded.className)")
        print("parameters: \(loaded.parameterCount)")
        print("tensors: \(loaded.tensorCount)")
        print("dtypes: " + Self.dtypeLine(loaded.dtypes))
        print("config: \(loaded.configJSON)")
    }

    /// A TweedieClassifier folder (the samples' judge): loaded in full, so a broken checkpoint is reported here.
    private func describeClassifier(_ path: String) throws {
        let net = try TweedieClassifier(folder: path)
        let file = try SafeTensorsFile(path: (path as NSString).appendingPathComponent(TweedieClassifier.weightsFile))
        var dtypes: [String: Int] = [:]
        for name in file.names { if let d = file.info(name)?.dtype { dtypes[d, default: 0] += 1 } }
        print("type: \(ClassifierConfig.className)")
        print("parameters: \(net.parameterCount)")
        print("tensors: \(file.names.count)")
        print("dtypes: " + Self.dtypeLine(dtypes))
        print("classes: \(net.config.classNames.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", "))")
        print("config: \(net.config.jsonText)")
    }

    private static func dtypeLine(_ dtypes: [String: Int]) -> String {
        dtypes.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
    }
}
