import Foundation

/// A JSON value of the engine's machine-readable output (safetensors headers, `--json` lines, reports), written by
/// Foundation's JSONEncoder: one line, keys sorted, slashes unescaped, numbers in their shortest round-trip form.
/// Numbers that are not finite are written as null (JSON has no NaN or infinity).
public indirect enum JSONOutput: Encodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONOutput])
    case object([String: JSONOutput])

    /// `value` rounded to `decimals` places, the precision the report means (null when not finite).
    public static func number(_ value: Double, decimals: Int) -> JSONOutput {
        guard value.isFinite else { return .null }
        let scale = pow(10, Double(decimals))
        let rounded = (value * scale).rounded() / scale
        return .number(rounded.isFinite ? rounded : value)
    }

    /// Each of `values` rounded to `decimals` places.
    public static func numbers(_ values: [Double], decimals: Int) -> JSONOutput {
        .array(values.map { number($0, decimals: decimals) })
    }

    /// A list of integers.
    public static func ints(_ values: [Int]) -> JSONOutput { .array(values.map(JSONOutput.int)) }

    /// The value as one line of JSON text.
    public var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            // Unreachable: every case encodes (non-finite numbers become null).
            preconditionFailure("JSONOutput: encoding failed: \(error)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let v): try c.encode(v)
        case .int(let v): try c.encode(v)
        case .number(let v): if v.isFinite { try c.encode(v) } else { try c.encodeNil() }
        case .string(let v): try c.encode(v)
        case .array(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        }
    }
}
