#if canImport(Glibc)
import Glibc
#endif

/// Which kernel runs `conv2d`'s forward pass. Both compute the same convolution in Float32; they differ in
/// summation order, so results agree to rounding (about 1e-6 relative), not bit for bit.
public enum ConvolutionBackend: String, CaseIterable, Sendable {
    /// oneDNN's convolution primitives (blocked layouts, JIT kernels for the CPU found at run time). The default
    /// when the library loads and creates a CPU engine.
    case oneDNN = "onednn"
    /// im2col + OpenBLAS SGEMM (`Im2Col`, `sgemm`): the portable path and the reference the other is checked against.
    case im2col

    nonisolated(unsafe) private static var selected: ConvolutionBackend = initial()

    /// The backend in use. Set it to compare paths in one process; `TWEEDIE_CONV=im2col` (or `onednn`) chooses it
    /// for a whole run. Asking for oneDNN where it cannot run falls back to im2col.
    public static var current: ConvolutionBackend {
        get { selected }
        set { selected = newValue == .oneDNN && OneDNNRuntime.shared == nil ? .im2col : newValue }
    }

    /// The backend in use with its library version, as `tweedie bench` and `tweedie info --system` print it.
    public static var label: String {
        guard current == .oneDNN, let v = OneDNNRuntime.version else { return current.rawValue }
        return "\(current.rawValue) (oneDNN \(v))"
    }

    private static func initial() -> ConvolutionBackend {
        if let name = getenv("TWEEDIE_CONV").map({ String(cString: $0) }), let choice = ConvolutionBackend(rawValue: name) {
            return choice == .oneDNN && OneDNNRuntime.shared == nil ? .im2col : choice
        }
        return OneDNNRuntime.shared == nil ? .im2col : .oneDNN
    }
}
