import Foundation
import XCTest
import TweedieTestSupport
import Tweedie

/// Runs the `tweedie` executable built beside the test bundle, reading stdout and stderr as they arrive (so a
/// test can wait for progress output and interrupt the run).
final class GenerateCLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// stdout split into non-empty lines.
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    static var binary: URL { TestEnvironment.cliBinary }

    /// The repository's pipeline fixtures (scripts/make_pipeline_fixtures.py).
    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    private let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    /// Starts `tweedie <arguments>` in `directory`.
    init(_ arguments: [String], in directory: URL? = nil) throws {
        process.executableURL = GenerateCLI.binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        o.fileHandleForReading.readabilityHandler = { [weak self] h in self?.append(h.availableData, toErr: false) }
        e.fileHandleForReading.readabilityHandler = { [weak self] h in self?.append(h.availableData, toErr: true) }
        try process.run()
    }

    private func append(_ data: Data, toErr: Bool) {
        lock.lock(); defer { lock.unlock() }
        if toErr { err += data } else { out += data }
    }

    /// stderr so far.
    var stderrSoFar: String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: err, as: UTF8.self)
    }

    /// Sends SIGINT (Ctrl-C).
    func interrupt() { process.interrupt() }

    /// Sends SIGTERM.
    func terminate() { process.terminate() }

    /// Waits for the process to end and returns everything it printed.
    func finish() -> Result {
        process.waitUntilExit()
        // Let the readability handlers drain what the pipes still hold.
        for pipe in [process.standardOutput, process.standardError].compactMap({ $0 as? Pipe }) {
            pipe.fileHandleForReading.readabilityHandler = nil
            let rest = pipe.fileHandleForReading.readDataToEndOfFile()
            append(rest, toErr: pipe === process.standardError as? Pipe)
        }
        lock.lock(); defer { lock.unlock() }
        return Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self))
    }

    /// Runs `tweedie <arguments>` to completion.
    static func run(_ arguments: [String], in directory: URL? = nil) throws -> Result {
        try GenerateCLI(arguments, in: directory).finish()
    }
}

/// Helpers shared by the generate tests.
enum GenerateTesting {
    /// A fresh temporary directory removed when the test ends.
    static func tempDir(_ test: XCTestCase) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("tweedie-gen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    /// max |a - b| / max |b|, NaN-proof (TweedieTestSupport).
    static func relativeError(_ a: Tensor, _ b: Tensor) -> Float { TweedieTestSupport.relativeError(a, b) }

    /// Sample `i` of a batch tensor [N, ...] as [1, ...].
    static func item(_ t: Tensor, _ i: Int) -> Tensor {
        let per = t.count / t.shape[0]
        return Tensor(shape: [1] + t.shape.dropFirst(), data: Array(t.data[(i * per)..<((i + 1) * per)]))
    }

    static func tensor(_ path: String, _ name: String = "sample") throws -> Tensor {
        try SafeTensorsFile(path: path).tensor(name)
    }

    /// Files in `dir`, sorted.
    static func files(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }
}
