import TweedieModels
import TweedieOperators
import TweediePipeline

/// `tweedie reconstruct --measurements`: the measurements reader (k-space, mask, coil maps, target), then what
/// reconstruct does with a file it accepts: build the MRI operator from the measured mask and maps and take the
/// zero-filled baseline Aᴴy. The prior's size comes from the file's own k-space when small (1-16 a side, so the
/// cached FFT plans stay few), else 8x8, so that both the accepting and the rejecting paths are reached. The file is
/// parsed once and read several ways (the safetensors target covers the parser itself).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMeasurements(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? SafeTensorsFile(path: FuzzScratch.write(data, size, suffix: ".safetensors")) else { return 0 }
    var (h, w) = (8, 8)
    if let shape = file.info("kspace_real")?.shape, shape.count >= 2, let sh = shape.dropLast().last, let sw = shape.last,
       (1...16).contains(sh), (1...16).contains(sw) {
        (h, w) = (sh, sw)
    }
    guard let m = try? MeasurementsFile(file: file, height: h, width: w, operatorName: nil) else { return 0 }
    precondition(m.mask.count == h * w && m.kspace.shape.suffix(2) == [h, w])
    precondition(m.target.map { $0.shape == [1, 1, h, w] } ?? true)
    // The --operator check: the rank's own name is accepted, the other refused.
    let other: OperatorSpec.Kind = m.kind == .mri ? .mriMulticoil : .mri
    precondition((try? MeasurementsFile(file: file, height: h, width: w, operatorName: m.kind.rawValue)) != nil)
    precondition((try? MeasurementsFile(file: file, height: h, width: w, operatorName: other.rawValue)) == nil)
    guard let op = try? OperatorSpec(kind: m.kind).build(height: h, width: w, kspaceMask: m.mask, coilMaps: m.maps) else {
        return 0
    }
    let x = Baselines.adjoint(op, m.kspace)
    precondition(x.shape == [h, w] && !x.isComplex)
    return 0
}
