/// Finds a key that appears twice in one JSON object. Foundation's parser keeps the last of two equal keys
/// silently; a safetensors header with two entries of one name is ambiguous, and the reference implementation
/// refuses it. Run on text that already parsed as JSON: it walks the structure without re-validating it, decodes
/// each key (escapes included, so "a" and "\u0061" are the same key) and stops at `maxDepth` levels.
enum JSONDuplicateKeys {
    /// Deepest nesting walked (deeper documents are refused by the parser before this runs).
    static let maxDepth = 512

    /// The first duplicated key and the path of the object holding it ("" for the top level), or nil.
    static func find(in bytes: UnsafeRawBufferPointer) -> (key: String, object: String)? {
        var scanner = Scanner(bytes: bytes)
        return scanner.value(path: "", depth: 0)
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var i = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        private var current: UInt8? { i < bytes.count ? bytes[i] : nil }

        private mutating func skipSpace() {
            while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { i += 1 }
        }

        /// Walks one value; returns the first duplicate found inside it.
        mutating func value(path: String, depth: Int) -> (key: String, object: String)? {
            skipSpace()
            guard let c = current, depth < JSONDuplicateKeys.maxDepth else { return nil }
            switch c {
            case UInt8(ascii: "{"):
                i += 1
                var seen = Set<String>()
                while true {
                    skipSpace()
                    guard let d = current else { return nil }
                    if d == UInt8(ascii: "}") { i += 1; return nil }
                    if d == UInt8(ascii: ",") { i += 1; continue }
                    guard d == UInt8(ascii: "\"") else { return nil }
                    let key = string()
                    if !seen.insert(key).inserted { return (key, path) }
                    skipSpace()
                    guard current == UInt8(ascii: ":") else { return nil }
                    i += 1
                    if let found = value(path: path.isEmpty ? key : path + "." + key, depth: depth + 1) { return found }
                }
            case UInt8(ascii: "["):
                i += 1
                while true {
                    skipSpace()
                    guard let d = current else { return nil }
                    if d == UInt8(ascii: "]") { i += 1; return nil }
                    if d == UInt8(ascii: ",") { i += 1; continue }
                    let before = i
                    if let found = value(path: path, depth: depth + 1) { return found }
                    if i == before { return nil }  // not JSON after all: stop rather than loop
                }
            case UInt8(ascii: "\""):
                _ = string()
                return nil
            default:
                // A number, true, false or null.
                while let d = current, !(d == UInt8(ascii: ",") || d == UInt8(ascii: "]") || d == UInt8(ascii: "}")
                                          || d == 0x20 || d == 0x09 || d == 0x0A || d == 0x0D) { i += 1 }
                return nil
            }
        }

        /// Reads a string starting at its opening quote and returns it decoded.
        private mutating func string() -> String {
            i += 1
            var units: [UInt16] = []
            var raw: [UInt8] = []
            func flushRaw() {
                units += String(decoding: raw, as: UTF8.self).utf16
                raw.removeAll()
            }
            while let c = current {
                i += 1
                if c == UInt8(ascii: "\"") { break }
                guard c == UInt8(ascii: "\\"), let e = current else { raw.append(c); continue }
                i += 1
                flushRaw()
                switch e {
                case UInt8(ascii: "n"): units.append(0x0A)
                case UInt8(ascii: "t"): units.append(0x09)
                case UInt8(ascii: "r"): units.append(0x0D)
                case UInt8(ascii: "b"): units.append(0x08)
                case UInt8(ascii: "f"): units.append(0x0C)
                case UInt8(ascii: "u"):
                    var v: UInt16 = 0
                    for _ in 0..<4 {
                        guard let h = current, let digit = hexValue(h) else { break }
                        v = v << 4 | UInt16(digit)
                        i += 1
                    }
                    units.append(v)
                default: units.append(UInt16(e))  // \" \\ \/
                }
            }
            flushRaw()
            return String(decoding: units, as: UTF16.self)
        }

        private func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
    }
}
