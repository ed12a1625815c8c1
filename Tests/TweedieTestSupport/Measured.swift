import Foundation
import XCTest

/// Asserts that a measured error is within `tolerance` (a NaN or infinite value always fails) and, when the
/// environment names a file in `TWEEDIE_MEASURE_OUT`, appends `{"name", "value", "tolerance", "kernel"}` to it as one
/// JSON line: scripts/measure-accuracy collects these into bench/results/accuracy.json, so every tolerance can be
/// set near the error it guards and every published error comes from a stored run.
public func assertMeasured(_ value: Double, tolerance: Double, _ name: String,
                           file: StaticString = #filePath, line: UInt = #line) {
    MeasuredLog.shared.append(name: name, value: value, tolerance: tolerance, site: "\(file):\(line)")
    XCTAssertTrue(isWithin(value, tolerance: tolerance),
                  "\(name): measured \(value) is not within the tolerance \(tolerance)", file: file, line: line)
}

/// `assertMeasured` for a Float measurement.
public func assertMeasured(_ value: Float, tolerance: Double, _ name: String,
                           file: StaticString = #filePath, line: UInt = #line) {
    assertMeasured(Double(value), tolerance: tolerance, name, file: file, line: line)
}

/// Appends measurement lines to the file named by `TWEEDIE_MEASURE_OUT` (one process may run many tests in
/// parallel threads, hence the lock; each line is written whole with O_APPEND).
final class MeasuredLog: @unchecked Sendable {
    static let shared = MeasuredLog()
    private let lock = NSLock()
    private let path = ProcessInfo.processInfo.environment["TWEEDIE_MEASURE_OUT"]

    func append(name: String, value: Double, tolerance: Double, site: String) {
        guard let path, !path.isEmpty else { return }
        struct Line: Encodable {
            let name: String
            let value: Double?
            let tolerance: Double
            let kernel: String
            let site: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // JSON has no NaN: a non-finite measurement is stored as null (and the assertion fails).
        let line = Line(name: name, value: value.isFinite ? value : nil, tolerance: tolerance,
                        kernel: TestEnvironment.openBLASKernel, site: site)
        guard var data = try? encoder.encode(line) else { return }
        data.append(0x0A)
        lock.lock(); defer { lock.unlock() }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

/// The verdict of `assertMeasured`: a finite value at or below the tolerance (NaN and infinities never pass).
public func isWithin(_ value: Double, tolerance: Double) -> Bool { value.isFinite && value <= tolerance }

/// `assertMeasured` for a Float measurement against a Float tolerance (e.g. `1e-5 * reference.maxAbs`).
public func assertMeasured(_ value: Float, tolerance: Float, _ name: String,
                           file: StaticString = #filePath, line: UInt = #line) {
    assertMeasured(Double(value), tolerance: Double(tolerance), name, file: file, line: line)
}

/// Records a measurement without asserting on it (for comparisons whose verdict combines several figures).
public func recordMeasured(_ value: Double, tolerance: Double, _ name: String,
                           file: StaticString = #filePath, line: UInt = #line) {
    MeasuredLog.shared.append(name: name, value: value, tolerance: tolerance, site: "\(file):\(line)")
}
