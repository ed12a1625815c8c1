import TweedieCore

/// The pointwise nonlinearities diffusers' `get_activation` names, as far as the supported models use them.
public enum Activation: Equatable {
    case silu
    case gelu
    case geluTanh

    /// Parses diffusers' activation name ("silu"/"swish", "gelu"); nil for names this engine does not run.
    public init?(diffusersName name: String) {
        switch name {
        case "silu", "swish": self = .silu
        case "gelu": self = .gelu
        default: return nil
        }
    }

    /// Applies the nonlinearity elementwise on the tape.
    public func callAsFunction(_ t: Tape, _ x: Variable) -> Variable {
        switch self {
        case .silu: return t.silu(x)
        case .gelu: return t.gelu(x, approximate: false)
        case .geluTanh: return t.gelu(x, approximate: true)
        }
    }
}
