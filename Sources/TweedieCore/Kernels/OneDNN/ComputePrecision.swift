#if canImport(Glibc)
import Glibc
#endif

/// The element type `conv2d` computes in on oneDNN. Float32 is the default and what every Float32 golden pins.
/// BF16 rounds each convolution's input and weights to bfloat16 (8 bits of mantissa) and accumulates in Float32,
/// on the CPU's BF16 dot-product instructions (AVX512-BF16, AMX); linear layers, attention and norms stay Float32.
public enum ComputePrecision: String, CaseIterable, Sendable {
    case float32 = "f32"
    case bfloat16 = "bf16"

    nonisolated(unsafe) private static var selected: ComputePrecision = initial()

    /// The precision in use. `TWEEDIE_PRECISION=bf16` chooses it for a whole run. Asking for BF16 where oneDNN has
    /// no BF16 convolution for this CPU (AVX2-only machines) keeps Float32: check `bfloat16Available` first.
    public static var current: ComputePrecision {
        get { selected }
        set { selected = newValue == .bfloat16 && !bfloat16Available ? .float32 : newValue }
    }

    /// Whether oneDNN builds a BF16 convolution on this CPU (probed once, on a small shape).
    public static let bfloat16Available: Bool = {
        guard let runtime = OneDNNRuntime.shared else { return false }
        let probe = ConvolutionShape(batch: 1, channels: 16, height: 8, width: 8, outChannels: 16, kh: 3, kw: 3,
                                     stride: 1, padding: 1, hasBias: true, precision: .bfloat16)
        return OneDNNConvolution(probe, runtime: runtime) != nil
    }()

    /// The precision a `--precision` value names; `badInput` naming the flag for an unknown name, or for bf16 where
    /// this CPU has no oneDNN BF16 convolution.
    public static func named(_ name: String) throws -> ComputePrecision {
        guard let p = ComputePrecision(rawValue: name) else {
            throw TweedieError.badInput("--precision \(name) is unknown; valid: "
                                        + allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard p == .float32 || bfloat16Available else {
            throw TweedieError.badInput("--precision bf16: oneDNN has no BF16 convolution on this CPU (it needs "
                                        + "AVX512-BF16 or AMX); use f32")
        }
        return p
    }

    private static func initial() -> ComputePrecision {
        guard let name = getenv("TWEEDIE_PRECISION").map({ String(cString: $0) }),
              let choice = ComputePrecision(rawValue: name) else { return .float32 }
        return choice == .bfloat16 && !bfloat16Available ? .float32 : choice
    }
}
