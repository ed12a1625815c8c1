import Foundation
import XCTest
import TweedieCore

/// Loads the JSON fixtures written by scripts/make_sampler_fixtures.py (read from the source tree, next to this file,
/// because the test target declares no resources).
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func json(_ name: String) throws -> Any {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data)
    }

    static func floats(_ any: Any?) -> [Float] { (any as? [Any] ?? []).map { Float(($0 as! NSNumber).doubleValue) } }
    static func doubles(_ any: Any?) -> [Double] { (any as? [Any] ?? []).map { ($0 as! NSNumber).doubleValue } }
    static func ints(_ any: Any?) -> [Int] { (any as? [Any] ?? []).map { ($0 as! NSNumber).intValue } }
}

