import TweedieCore
import TweedieModels

/// The safetensors reader: open (header, duplicate names, layout), then read every tensor in every way a caller
/// can (whole, shape-checked, by rows, as integers). Errors are fine; traps, leaks past the file and sanitizer
/// reports are findings.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzScratch.write(data, size, suffix: ".safetensors")
    guard let file = try? SafeTensorsFile(path: path) else { return 0 }
    _ = file.metadata
    for name in file.names {
        guard let info = file.info(name) else { fatalError("listed tensor \(name) has no info") }
        if let t = try? file.tensor(name) { precondition(t.shape == info.shape && t.count == info.count) }
        _ = try? file.tensor(name, shape: info.shape)
        if let rows = info.shape.first, rows > 0 {
            if let t = try? file.tensor(name, rows: (rows - 1)..<rows) { precondition(t.count == info.count / rows) }
        }
        _ = try? file.tensor(name, rows: -1..<2)
        if let ints = try? file.int64s(name) { precondition(ints.count == info.count) }
    }
    return 0
}
