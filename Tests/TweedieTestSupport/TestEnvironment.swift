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
