import TweedieCore
import TweedieData

/// The data-set readers: gzip framing (DataFile.decode), IDX (Fashion-MNIST) and NIfTI-1 (Colin27), on the bytes
/// as given and after decompression.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNIfTIAndIDX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for input in [bytes, (try? DataFile.decode(bytes, path: "fuzz.gz")) ?? []] {
        if let idx = try? IDXFile(bytes: input, path: "fuzz.idx") { _ = idx }
        if let nifti = try? NIfTIImage(bytes: input, path: "fuzz.nii") { _ = nifti.volume.count }
    }
    return 0
}
