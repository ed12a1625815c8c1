import TweedieCore

/// The modified Shepp–Logan head phantom of P. Toft (higher-contrast intensities), as MATLAB's
/// `phantom('Modified Shepp-Logan')` and scikit-image's `shepp_logan_phantom()` define it. Background 0, skull 1,
/// brain 0.2, ventricles 0, small features 0.1–0.4.
public enum SheppLogan {
    /// The ten ellipses: (intensity, semi-axes a, b, centre x0, y0, angle in degrees).
    public static let modifiedEllipses: [Ellipse] = [
        (1.0, 0.69, 0.92, 0, 0, 0),
        (-0.8, 0.6624, 0.8740, 0, -0.0184, 0),
        (-0.2, 0.1100, 0.3100, 0.22, 0, -18),
        (-0.2, 0.1600, 0.4100, -0.22, 0, 18),
        (0.1, 0.2100, 0.2500, 0, 0.35, 0),
        (0.1, 0.0460, 0.0460, 0, 0.1, 0),
        (0.1, 0.0460, 0.0460, 0, -0.1, 0),
        (0.1, 0.0460, 0.0230, -0.08, -0.605, 0),
        (0.1, 0.0230, 0.0230, 0, -0.606, 0),
        (0.1, 0.0230, 0.0460, 0.06, -0.605, 0),
    ].map { Ellipse(intensity: $0.0, semiAxisX: $0.1, semiAxisY: $0.2, centreX: $0.3, centreY: $0.4,
                    angleDegrees: $0.5) }

    /// The phantom rasterised as [1, 1, height, width]. `.pixelCentres` samples pixel centres of [-1, 1]^2;
    /// `.gridEndpoints` reproduces MATLAB's grid and so scikit-image's stored 400x400 image pixel for pixel.
    public static func image(height: Int, width: Int, sampling: PhantomSampling = .pixelCentres) -> Tensor {
        EllipsePhantom.image(modifiedEllipses, height: height, width: width, sampling: sampling)
    }

    /// The phantom's exact value at (x, y) in [-1, 1]^2 (y up).
    public static func value(x: Double, y: Double) -> Double {
        modifiedEllipses.reduce(0) { $0 + ($1.contains(x: x, y: y) ? $1.intensity : 0) }
    }
}
