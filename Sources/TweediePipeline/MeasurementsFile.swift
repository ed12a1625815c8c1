import TweedieCore
import TweedieModels
import TweedieOperators

/// Measured MRI data for `tweedie reconstruct --measurements`: a safetensors file with F32 tensors `kspace_real`,
/// `kspace_imag` ([H, W] single-coil or [C, H, W] multi-coil, the centred orthonormal k-space of the image in the
/// prior's range [-1, 1]), `mask` [H, W] (0/1), optional `coil_maps_real`, `coil_maps_imag` [C, H, W] (required
/// for multi-coil) and optional `target` [H, W] in [0, 1] for PSNR/SSIM. scripts/write_measurements.py writes one.
/// Every field's dtype and shape is checked before it is read, and every value must be finite: a NaN would
/// otherwise pass through the solvers and come out as a blank image.
public struct MeasurementsFile {
    /// `mri` for [H, W] k-space, `mri-multicoil` for [C, H, W].
    public let kind: OperatorSpec.Kind
    /// The complex k-space, [H, W] or [C, H, W].
    public let kspace: Buffer
    /// The 0/1 sampling mask, H·W values.
    public let mask: [Float]
    /// Complex coil maps [C, H, W] (multi-coil only).
    public let maps: Buffer?
    /// The ground truth [1, 1, H, W], when the file holds one.
    public let target: Tensor?

    /// Reads `path` for a prior of `height` x `width`; `operatorName` (the `--operator` flag, if given) must agree
    /// with the k-space's rank. Throws `badInput` naming the file and field at fault.
    public init(path: String, height: Int, width: Int, operatorName: String?) throws {
        try self.init(file: try SafeTensorsFile(path: path), height: height, width: width, operatorName: operatorName)
    }

    /// Reads an opened safetensors file (as `init(path:...)`; the fuzz target reads one file several ways).
    public init(file: SafeTensorsFile, height h: Int, width w: Int, operatorName: String?) throws {
        let prefix = "--measurements \(file.path)"
        func info(_ name: String) throws -> SafeTensorInfo? {
            guard let info = file.info(name) else { return nil }
            guard info.dtype == "F32" else {
                throw TweedieError.badInput("\(prefix): field '\(name)' has dtype \(info.dtype), expected F32")
            }
            return info
        }
        func required(_ name: String) throws -> SafeTensorInfo {
            guard let i = try info(name) else { throw TweedieError.badInput("\(prefix): missing field '\(name)'") }
            return i
        }
        func read(_ name: String) throws -> Tensor {
            let t = try file.tensor(name)
            if let bad = t.data.firstIndex(where: { !$0.isFinite }) {
                throw TweedieError.badInput("\(prefix): field '\(name)' holds \(t.data[bad]) at element \(bad); "
                                            + "every value must be finite")
            }
            return t
        }

        let (re, im) = (try required("kspace_real"), try required("kspace_imag"))
        guard re.shape == im.shape, re.shape.count == 2 || re.shape.count == 3, Array(re.shape.suffix(2)) == [h, w],
              re.shape.count == 2 || re.shape[0] >= 1 else {
            throw TweedieError.badInput("\(prefix): fields 'kspace_real' \(re.shape) and 'kspace_imag' \(im.shape) "
                                        + "must both be [\(h), \(w)] or [C, \(h), \(w)] with C >= 1 (the prior's size)")
        }
        let m = try required("mask")
        guard m.shape == [h, w] else {
            throw TweedieError.badInput("\(prefix): field 'mask' is \(m.shape), k-space planes are [\(h), \(w)]")
        }
        kind = re.shape.count == 3 ? .mriMulticoil : .mri
        if let name = operatorName, name != kind.rawValue {
            throw TweedieError.badInput("--operator \(name): \(prefix) holds \(kind.rawValue) k-space \(re.shape)")
        }
        if kind == .mriMulticoil {
            let (mr, mi) = (try required("coil_maps_real"), try required("coil_maps_imag"))
            guard mr.shape == re.shape, mi.shape == re.shape else {
                throw TweedieError.badInput("\(prefix): fields 'coil_maps_real' \(mr.shape) and 'coil_maps_imag' "
                                            + "\(mi.shape) must match the k-space \(re.shape)")
            }
        }
        let t = try info("target")
        if let t, t.shape != [h, w] {
            throw TweedieError.badInput("\(prefix): field 'target' is \(t.shape), expected [\(h), \(w)]")
        }

        let maskValues = try read("mask").data
        guard maskValues.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw TweedieError.badInput("\(prefix): field 'mask' must hold only 0 and 1")
        }
        mask = maskValues
        kspace = Buffer(shape: re.shape, real: try read("kspace_real").data, imag: try read("kspace_imag").data)
        maps = kind == .mriMulticoil
            ? Buffer(shape: re.shape, real: try read("coil_maps_real").data, imag: try read("coil_maps_imag").data)
            : nil
        target = try t.map { _ in try read("target").reshaped([1, 1, h, w]) }
    }
}
