import Foundation
import XCTest
import TweedieCore
import TweedieModels

/// Fixture folders written by scripts/make_fixtures.py (diffusers outputs on CPU, float32).
enum ParityFixtures {
    /// Absolute path of fixture folder `name`.
    static func path(_ name: String) throws -> String {
        guard let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw TweedieError.runtime("test bundle has no Fixtures folder")
        }
        return root.appendingPathComponent(name).path
    }

    /// The io.safetensors of fixture `name`.
    static func io(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: (try path(name) as NSString).appendingPathComponent("io.safetensors"))
    }
}

/// A throwaway copy of a fixture folder that a test may edit.
struct ParityScratchCopy {
    let path: String

    init(of fixture: String) throws {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("tweedie-models-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.copyItem(atPath: try ParityFixtures.path(fixture), toPath: dir.path)
        path = dir.path
    }

    var configPath: String { (path as NSString).appendingPathComponent(ModelFolder.configFile) }
    var weightsPath: String { (path as NSString).appendingPathComponent(ModelFolder.weightsFile) }

    /// Rewrites config.json after `edit` changes its top-level object.
    func editConfig(_ edit: (inout [String: Any]) -> Void) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: configPath))
        var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: configPath))
    }

    /// Rewrites the checkpoint after `edit` changes its (name, tensor) list.
    func editWeights(_ edit: (inout [(String, Tensor)]) -> Void) throws {
        let file = try SafeTensorsFile(path: weightsPath)
        var tensors = try file.names.map { ($0, try file.tensor($0)) }
        edit(&tensors)
        try SafeTensorsWriter.write(tensors, to: weightsPath)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Asserts that `body` throws a TweedieError with exit code 2 whose one-line message contains every part.
func assertModelBadInput(_ parts: [String], file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected a badInput error mentioning \(parts)", file: file, line: line)
    } catch let e as TweedieError {
        XCTAssertEqual(e.exitCode, 2, "\(e.message)", file: file, line: line)
        XCTAssertFalse(e.message.contains("\n"), "message spans lines: \(e.message)", file: file, line: line)
        for p in parts {
            XCTAssertTrue(e.message.contains(p), "'\(e.message)' does not mention '\(p)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected TweedieError, got \(error)", file: file, line: line)
    }
}
