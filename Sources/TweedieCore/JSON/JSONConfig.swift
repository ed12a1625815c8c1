import Foundation

/// A JSON object read from a config file (e.g. a diffusers `config.json`), with typed accessors.
///
/// Rules shared by every accessor:
/// - A key that is absent **or present with JSON `null`** counts as absent: defaulted accessors return the default,
///   optional ones return nil, `require...` ones throw. Diffusers writes `null` for many unset optional fields.
/// - Numbers are read by value: an int field given as `2.0` reads as 2 (but `2.5` is an error), and a float field
///   may be written as an int. Booleans and numbers never convert into each other.
/// - A wrong-typed value is `badInput("<path>: field '<key>': expected <type>, got <value>")`; a missing required
///   one is `badInput("<path>: missing required field '<key>'")`.
public struct JSONConfig: @unchecked Sendable {
    /// The file the config came from (or the label given to `init(data:path:)`); used in error messages.
    public let path: String
    /// The file's text exactly as read.
    public let text: String
    /// Top-level values; immutable, which is why sharing across threads is safe.
    private let object: [String: Any]

    /// Reads and parses `path`; a missing or unreadable file, invalid JSON or a non-object top level is
    /// `badInput` naming the path.
    public init(path: String) throws {
        try self.init(data: Data(try readFile(path)), path: path)
    }

    /// Parses JSON already in memory; `path` only labels error messages.
    public init(data: Data, path: String) throws {
        self.path = path
        guard let text = String(data: data, encoding: .utf8) else {
            throw TweedieError.badInput("\(path): not valid UTF-8 text")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TweedieError.badInput("\(path): not valid JSON\(JSONValue.parseFailure(error))")
        }
        guard let object = parsed as? [String: Any] else {
            throw TweedieError.badInput("\(path): top level is \(JSONValue.describe(parsed)), expected a JSON object")
        }
        self.text = text
        self.object = object
    }

    /// A config over an object already decoded by JSONSerialization; `path` only labels error messages.
    public init(object: [String: Any], path: String) {
        self.path = path
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        text = data.map { String(decoding: $0, as: UTF8.self) } ?? ""
        self.object = object
    }

    /// All top-level keys, sorted (including those whose value is null).
    public var keys: [String] { object.keys.sorted() }

    /// The parsed value of `key` as JSONSerialization gives it (nil when absent), for fields of free shape.
    public func rawValue(_ key: String) -> Any? { object[key] }

    /// Whether `key` is present with a non-null value.
    public func has(_ key: String) -> Bool { present(key) != nil }

    // MARK: Int

    /// Integer `key`, or nil if absent/null.
    public func int(_ key: String) throws -> Int? { try read(key, "int", JSONValue.exactInt) }
    /// Integer `key`, or `default` if absent/null.
    public func int(_ key: String, default value: Int) throws -> Int { try int(key) ?? value }
    /// Integer `key`; absent/null is `badInput`.
    public func requireInt(_ key: String) throws -> Int { try required(key, int(key)) }

    // MARK: Float / Double

    /// Number `key` as Float, or nil if absent/null.
    public func float(_ key: String) throws -> Float? { try double(key).map(Float.init) }
    /// Number `key` as Float, or `default` if absent/null.
    public func float(_ key: String, default value: Float) throws -> Float { try float(key) ?? value }
    /// Number `key` as Float; absent/null is `badInput`.
    public func requireFloat(_ key: String) throws -> Float { try required(key, float(key)) }

    /// Number `key` as Double, or nil if absent/null.
    public func double(_ key: String) throws -> Double? { try read(key, "number", JSONValue.double) }
    /// Number `key` as Double, or `default` if absent/null.
    public func double(_ key: String, default value: Double) throws -> Double { try double(key) ?? value }
    /// Number `key` as Double; absent/null is `badInput`.
    public func requireDouble(_ key: String) throws -> Double { try required(key, double(key)) }

    // MARK: Bool / String

    /// Boolean `key`, or nil if absent/null.
    public func bool(_ key: String) throws -> Bool? {
        try read(key, "bool") { JSONValue.isBool($0) ? ($0 as! NSNumber).boolValue : nil }
    }
    /// Boolean `key`, or `default` if absent/null.
    public func bool(_ key: String, default value: Bool) throws -> Bool { try bool(key) ?? value }
    /// Boolean `key`; absent/null is `badInput`.
    public func requireBool(_ key: String) throws -> Bool { try required(key, bool(key)) }

    /// String `key`, or nil if absent/null.
    public func string(_ key: String) throws -> String? { try read(key, "string") { $0 as? String } }
    /// String `key`, or `default` if absent/null.
    public func string(_ key: String, default value: String) throws -> String { try string(key) ?? value }
    /// String `key`; absent/null is `badInput`.
    public func requireString(_ key: String) throws -> String { try required(key, string(key)) }

    /// String `key` naming a case of `E` by its raw value, or nil if absent/null; another string is `badInput`
    /// listing the supported values.
    public func enumValue<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E?
    where E.RawValue == String {
        guard let s = try string(key) else { return nil }
        guard let e = E(rawValue: s) else {
            throw TweedieError.badInput("\(path): field '\(key)': unsupported value \"\(s)\" (supported: "
                                        + E.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        return e
    }

    // MARK: Arrays

    /// Array of integers `key`, or nil if absent/null.
    public func ints(_ key: String) throws -> [Int]? { try readArray(key, "int", JSONValue.exactInt) }
    /// Array of integers `key`, or `default` if absent/null.
    public func ints(_ key: String, default value: [Int]) throws -> [Int] { try ints(key) ?? value }
    /// Array of integers `key`; absent/null is `badInput`.
    public func requireInts(_ key: String) throws -> [Int] { try required(key, ints(key)) }

    /// Array of numbers `key` as Float, or nil if absent/null.
    public func floats(_ key: String) throws -> [Float]? {
        try readArray(key, "number") { JSONValue.double($0).map(Float.init) }
    }
    /// Array of numbers `key` as Float, or `default` if absent/null.
    public func floats(_ key: String, default value: [Float]) throws -> [Float] { try floats(key) ?? value }
    /// Array of numbers `key` as Float; absent/null is `badInput`.
    public func requireFloats(_ key: String) throws -> [Float] { try required(key, floats(key)) }

    /// Array of numbers `key` as Double, or nil if absent/null.
    public func doubles(_ key: String) throws -> [Double]? { try readArray(key, "number", JSONValue.double) }

    /// Array of strings `key`, or nil if absent/null.
    public func strings(_ key: String) throws -> [String]? { try readArray(key, "string") { $0 as? String } }
    /// Array of strings `key`, or `default` if absent/null.
    public func strings(_ key: String, default value: [String]) throws -> [String] { try strings(key) ?? value }
    /// Array of strings `key`; absent/null is `badInput`.
    public func requireStrings(_ key: String) throws -> [String] { try required(key, strings(key)) }

    /// A field diffusers allows as either one int or one int per block (e.g. `attention_head_dim`): a single int
    /// is repeated `count` times, an array must have exactly `count` entries; absent/null gives `default`.
    public func intOrInts(_ key: String, count: Int, default value: [Int]) throws -> [Int] {
        guard let v = present(key) else { return value }
        if let i = JSONValue.exactInt(v) { return [Int](repeating: i, count: count) }
        guard let list = try ints(key) else { return value }
        guard list.count == count else {
            throw TweedieError.badInput("\(path): field '\(key)': expected \(count) entries, got \(list.count)")
        }
        return list
    }

    // MARK: Helpers

    private func present(_ key: String) -> Any? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        return v
    }

    private func read<T>(_ key: String, _ typeName: String, _ convert: (Any) -> T?) throws -> T? {
        guard let v = present(key) else { return nil }
        guard let t = convert(v) else {
            throw TweedieError.badInput("\(path): field '\(key)': expected \(typeName), got \(JSONValue.describe(v))")
        }
        return t
    }

    private func readArray<T>(_ key: String, _ typeName: String, _ convert: (Any) -> T?) throws -> [T]? {
        guard let v = present(key) else { return nil }
        guard let list = v as? [Any] else {
            throw TweedieError.badInput("\(path): field '\(key)': expected array of \(typeName), "
                                        + "got \(JSONValue.describe(v))")
        }
        var out: [T] = []
        out.reserveCapacity(list.count)
        for (i, e) in list.enumerated() {
            guard let t = convert(e) else {
                throw TweedieError.badInput("\(path): field '\(key)': expected array of \(typeName), got "
                                            + "\(JSONValue.describe(e)) at index \(i)")
            }
            out.append(t)
        }
        return out
    }

    private func required<T>(_ key: String, _ value: T?) throws -> T {
        guard let value else { throw TweedieError.badInput("\(path): missing required field '\(key)'") }
        return value
    }
}
