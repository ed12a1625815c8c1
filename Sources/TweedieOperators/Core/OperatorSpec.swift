import TweedieCore

/// An operator described the way `tweedie reconstruct` takes it on the command line; `build` checks every setting
/// and throws `badInput` naming the flag at fault.
public struct OperatorSpec: Equatable, Sendable {
    /// Forward models.
    public enum Kind: String, CaseIterable, Sendable {
        /// Single-coil MRI, multi-coil MRI, parallel-beam CT, deblurring, super-resolution, inpainting.
        case mri, mriMulticoil = "mri-multicoil", ct, deblur, sr, inpaint
    }

    /// The forward model.
    public var kind: Kind
    /// MRI: uniform1d | gaussian1d | poisson2d (default uniform1d); inpaint: box | random (default box).
    public var mask: String?
    /// MRI acceleration R.
    public var acceleration: Int = 4
    /// Multi-coil MRI: number of synthetic birdcage coils.
    public var coils: Int = 4
    /// CT: number of views over [0°, 180°).
    public var views: Int = 16
    /// Deblur: `gaussian:SIGMA[:SIZE]` or `motion:LENGTH[:ANGLE]`.
    public var kernel: String = "gaussian:3"
    /// Super-resolution factor.
    public var scale: Int = 4
    /// Inpainting: fraction of pixels missing (nil: 0.25 for box, 0.7 for random).
    public var missing: Double?
    /// Seed of random masks.
    public var seed: UInt64 = 0

    /// A spec of `kind` with default settings.
    public init(kind: Kind) { self.kind = kind }

    /// Parses `--operator`.
    public static func kind(_ name: String) throws -> Kind {
        guard let k = Kind(rawValue: name) else {
            throw TweedieError.badInput("--operator \(name): unknown operator (valid: "
                                        + Kind.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        return k
    }

    /// The mask family in use (the default when `mask` is nil).
    public var maskName: String? {
        switch kind {
        case .mri, .mriMulticoil: return mask ?? SamplingMask.Kind.uniform1d.rawValue
        case .inpaint: return mask ?? InpaintOperator.Kind.box.rawValue
        default: return nil
        }
    }

    /// The missing fraction in use for inpainting.
    public var missingFraction: Double { missing ?? (maskName == "random" ? 0.7 : 0.25) }

    /// The k-space mask this spec describes for an `height` x `width` image (MRI kinds only).
    public func kspaceMask(height: Int, width: Int) throws -> [Float] {
        let name = maskName ?? ""
        guard let k = SamplingMask.Kind(rawValue: name) else {
            throw TweedieError.badInput("--mask \(name): not an MRI mask (valid: "
                                        + SamplingMask.Kind.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        return try SamplingMask.make(k, height: height, width: width, acceleration: acceleration, seed: seed)
    }

    /// The operator on real `height` x `width` images. MRI kinds may take a measured `kspaceMask` and, for
    /// multi-coil, `coilMaps` (complex [C, H, W]); otherwise the mask is drawn and the maps are synthetic.
    public func build(height: Int, width: Int, kspaceMask: [Float]? = nil, coilMaps: Buffer? = nil) throws -> LinearOperator {
        if kind != .mri && kind != .mriMulticoil && kind != .inpaint, let m = mask {
            throw TweedieError.badInput("--mask \(m): the \(kind.rawValue) operator takes no mask")
        }
        switch kind {
        case .mri:
            return MRIOperator(height: height, width: width,
                               mask: try kspaceMask ?? self.kspaceMask(height: height, width: width))
        case .mriMulticoil:
            guard coils >= 1 else { throw TweedieError.badInput("--coils: must be at least 1, got \(coils)") }
            let maps = coilMaps ?? CoilMaps.birdcage(coils: coils, height: height, width: width)
            try CoilMaps.validate(maps, height: height, width: width, field: "coil maps")
            return MulticoilMRIOperator(maps: maps, mask: try kspaceMask ?? self.kspaceMask(height: height, width: width))
        case .ct:
            guard views >= 1 else { throw TweedieError.badInput("--views: must be at least 1, got \(views)") }
            return try ParallelBeamCT(height: height, width: width, views: views)
        case .deblur:
            return try BlurOperator(height: height, width: width, kernel: try BlurKernel.parse(kernel))
        case .sr:
            return try DownsampleOperator(height: height, width: width, factor: scale)
        case .inpaint:
            let name = maskName ?? ""
            guard let k = InpaintOperator.Kind(rawValue: name) else {
                throw TweedieError.badInput("--mask \(name): not an inpainting mask (valid: box, random)")
            }
            return InpaintOperator(height: height, width: width,
                                   mask: try InpaintOperator.mask(k, height: height, width: width,
                                                                  missing: missingFraction, seed: seed))
        }
    }

    /// The spec's settings for a report (only those the kind reads).
    public var settings: [String: String] {
        var s = ["operator": kind.rawValue]
        switch kind {
        case .mri, .mriMulticoil:
            s["mask"] = maskName
            s["acceleration"] = String(acceleration)
            if kind == .mriMulticoil { s["coils"] = String(coils) }
        case .ct: s["views"] = String(views)
        case .deblur: s["kernel"] = kernel
        case .sr: s["scale"] = String(scale)
        case .inpaint:
            s["mask"] = maskName
            s["missing"] = String(missingFraction)
        }
        return s
    }
}
