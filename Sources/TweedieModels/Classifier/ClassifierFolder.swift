import Foundation
import TweedieCore

/// Classifier folders on disk: `config.json` (a `ClassifierConfig`) beside `model.safetensors` (Float32 weights
/// under the names `TweedieClassifier.parameterShapes` lists).
public enum ClassifierFolder {
    /// Writes `config` and `parameters` into `directory` (created if needed); each file is written under a
    /// temporary name and renamed. The parameters are checked against the config first.
    public static func write(config: ClassifierConfig, parameters: [(String, Tensor)], to directory: String,
                             metadata: [String: String] = [:]) throws {
        let net = try TweedieClassifier.network(config: config)
        try net.validate(Dictionary(parameters.map { ($0.0, $0.1.shape) }, uniquingKeysWith: { a, _ in a }),
                         source: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        do {
            try config.jsonText.write(toFile: configPath, atomically: true, encoding: .utf8)
        } catch {
            throw TweedieError.badInput("\(configPath): cannot be written (\(error.localizedDescription))")
        }
        try SafeTensorsWriter.write(parameters, metadata: metadata,
                                    to: (directory as NSString).appendingPathComponent(TweedieClassifier.weightsFile))
    }

    /// Whether `directory` has a config.json naming `TweedieClassifier`.
    public static func isClassifier(_ directory: String) -> Bool {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard let json = try? JSONConfig(path: path) else { return false }
        return (try? json.string("_class_name")) == ClassifierConfig.className
    }
}
