/// The value range a float image tensor lives in.
public enum PixelRange: Sendable {
    /// Model space, [-1, 1]: sample s maps to v = s / 2 + 0.5 in [0, 1].
    case minusOneToOne
    /// Already in [0, 1].
    case zeroToOne

    /// Width of the range, the `dataRange` to give PSNR and SSIM for tensors in this range.
    public var width: Float { self == .minusOneToOne ? 2 : 1 }
}
