import Foundation
import XCTest
import TweedieCore

/// What the test process runs on, and the policy for tests that need files from outside the repository.
public enum TestEnvironment {
    /// True when `CI` is set (to anything but "" or "false"): a missing prerequisite then fails instead of skipping.
    public static var isCI: Bool {
        let v = ProcessInfo.processInfo.environment["CI"] ?? ""
        return !v.isEmpty && v.lowercased() != "false" && v != "0"
    }

    /// The OpenBLAS kernel this process computes with (its core name, e.g. "Haswell").
    public static var openBLASKernel: String { SystemInfo.openBLASCore }

    /// Throws XCTSkip when `path` is absent outside CI; under CI the absence is a test failure, so a broken install
    /// cannot pass as a skipped test.
    public static func requireFile(_ path: String, package: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        if FileManager.default.fileExists(atPath: path) { return }
        let message = "\(path) absent: install the Debian package \(package) to run this test"
        if isCI {
            XCTFail("\(message) (CI is set, so a missing data package fails)", file: file, line: line)
            throw MissingPrerequisite(message: message)
        }
        throw XCTSkip(message)
    }
}

/// A prerequisite that is missing under CI (the failure itself is reported with XCTFail).
public struct MissingPrerequisite: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension TestEnvironment {
    /// The `tweedie` executable built beside the test bundle.
    public static var cliBinary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tweedie")
    }

    /// The OpenBLAS kernel a `tweedie` child process computes with (`tweedie info --openblas-core`, which reports
    /// the kernel after the CLI's core guard has re-executed it), or nil when it could not be asked.
    public static func cliKernel() -> String? {
        let process = Process()
        process.executableURL = cliBinary
        process.arguments = ["info", "--openblas-core"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Fails (and returns false) unless this process and a `tweedie` child compute with the same OpenBLAS kernel: a
    /// bit-identity test between the two means nothing otherwise. `make test` sets OPENBLAS_CORETYPE for that.
    @discardableResult
    public static func assertCLIUsesSameKernel(file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let mine = openBLASKernel, theirs = cliKernel() ?? "unknown"
        guard mine == theirs else {
            XCTFail("this test process computes with OpenBLAS \(mine) but `tweedie` with \(theirs): run the suite "
                    + "through `make test`, or set OPENBLAS_CORETYPE=\(theirs)", file: file, line: line)
            return false
        }
        return true
    }
}
