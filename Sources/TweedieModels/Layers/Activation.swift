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

    /// Applies the nonlinearity elementwise.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .silu: return TweedieCore.silu(x)
        case .gelu: return TweedieCore.gelu(x, approximate: false)
        case .geluTanh: return TweedieCore.gelu(x, approximate: true)
        }
    }
}
