/// JSON text helpers for writers that build JSON by hand (safetensors headers, bench output) to keep key order.
public enum JSONText {
    /// `s` as a JSON string literal (quotes, backslashes and control characters escaped).
    public static func string(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\r": r += "\\r"
            case "\t": r += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                r += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: r.unicodeScalars.append(u)
            }
        }
        return r + "\""
    }
}
