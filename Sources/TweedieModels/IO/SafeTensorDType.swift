/// Element types a safetensors header may name, with their stored widths.
/// Only these are accepted; anything else in a header is reported as an unknown dtype.
enum SafeTensorDType: String, CaseIterable, Sendable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per stored element.
    var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Whether `SafeTensorsFile.tensor` converts this type to Float32.
    var isFloat: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16: return true
        default: return false
        }
    }

    /// Comma-separated list of accepted names, for error messages.
    static var acceptedNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
