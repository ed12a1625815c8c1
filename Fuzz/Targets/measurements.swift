import TweedieModels
import TweedieOperators
import TweediePipeline

/// `tweedie reconstruct --measurements`: the measurements reader (k-space, mask, coil maps, target), then what
/// reconstruct does with a file it accepts: build the MRI operator from the measured mask and maps and take the
/// zero-filled baseline Aᴴy. The prior's size comes from the file's own k-space when small (1-16 a side, so the
/// cached FFT plans stay few), else 8x8, so that both the accepting and the rejecting paths are reached.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMeasurements(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzScratch.write(data, size, suffix: ".safetensors")
    var (h, w) = (8, 8)
    if let shape = (try? SafeTensorsFile(path: path))?.info("kspace_real")?.shape, shape.count >= 2,
       let sh = shape.dropLast().last, let sw = shape.last, (1...16).contains(sh), (1...16).contains(sw) {
        (h, w) = (sh, sw)
    }
    for name in [nil, "mri", "mri-multicoil"] {
        guard let m = try? MeasurementsFile(path: path, height: h, width: w, operatorName: name) else { continue }
        precondition(m.mask.count == h * w && m.kspace.shape.suffix(2) == [h, w])
        precondition(m.target.map { $0.shape == [1, 1, h, w] } ?? true)
        guard let op = try? OperatorSpec(kind: m.kind).build(height: h, width: w, kspaceMask: m.mask, coilMaps: m.maps) else {
            continue
        }
        let x = Baselines.adjoint(op, m.kspace)
        precondition(x.shape == [h, w] && !x.isComplex)
    }
    return 0
}
