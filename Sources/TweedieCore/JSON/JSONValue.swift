import Foundation

/// Classification of the values Foundation's JSONSerialization returns, shared by `JSONConfig` and the readers of
/// other JSON documents (safetensors headers). JSON booleans and numbers both arrive as NSNumber; they are told apart by the stored type
/// so that `true` never reads as 1 and 1 never reads as `true`.
public enum JSONValue {
    /// Whether `value` came from a JSON `true`/`false`.
    public static func isBool(_ value: Any) -> Bool {
        guard let n = value as? NSNumber else { return false }
        let t = n.objCType.pointee
        return t == UInt8(ascii: "c") || t == UInt8(ascii: "B")
    }

    /// The value as a JSON number (not a boolean), else nil.
    public static func number(_ value: Any) -> NSNumber? {
        guard let n = value as? NSNumber, !isBool(value) else { return nil }
        return n
    }

    /// The value as an exact integer: an integral JSON number such as `2` or `2.0` within Int range, else nil.
    public static func exactInt(_ value: Any) -> Int? {
        guard let n = number(value) else { return nil }
        let t = n.objCType.pointee
        if t == UInt8(ascii: "d") || t == UInt8(ascii: "f") {
            let d = n.doubleValue
            // 2^63 is exactly representable, so `<` keeps the conversion in range.
            guard d.isFinite, d.rounded(.towardZero) == d, d >= -0x1p63, d < 0x1p63 else { return nil }
            return Int(d)
        }
        return n as? Int
    }

    /// The value as a Double if it is a JSON number (integers included).
    public static func double(_ value: Any) -> Double? { number(value)?.doubleValue }

    /// The parser's own explanation of a JSONSerialization failure (e.g. "Unexpected end of file around
    /// character 9."), flattened to one line, or "" when it gives none.
    public static func parseFailure(_ error: Error) -> String {
        guard let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String, !detail.isEmpty else {
            return ""
        }
        return ": " + detail.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// Short one-line description of a JSON value for error messages, e.g. `string "abc"` or `number 2.5`.
    public static func describe(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if isBool(value) { return "bool \((value as! NSNumber).boolValue)" }
        if let n = number(value) {
            if let i = exactInt(value) { return "number \(i)" }
            return "number \(n.doubleValue)"
        }
        if let s = value as? String {
            let shown = s.count > 40 ? String(s.prefix(40)) + "..." : s
            return "string \"\(shown.replacingOccurrences(of: "\n", with: "\\n"))\""
        }
        if value is [Any] { return "array" }
        if value is [String: Any] { return "object" }
        return "\(type(of: value))"
    }
}
