import TweedieCore

/// A single-file NIfTI-1 image (.nii, or .nii.gz through the gzip reader), read as Float32.
public struct NIfTIImage {
    /// The parsed header.
    public let header: NIfTIHeader
    /// The first 3-D volume as [Z, Y, X] (x fastest, as stored), with `scl_slope`/`scl_inter` applied.
    public let volume: Tensor

    /// Reads `path`; `package` names the apt package when the file is absent.
    public static func read(_ path: String, package: String? = nil) throws -> NIfTIImage {
        try NIfTIImage(bytes: DataFile.read(path, package: package), path: path)
    }

    /// Parses decompressed .nii bytes; `path` names the source in errors.
    public init(bytes: [UInt8], path: String) throws {
        header = try bytes.withUnsafeBytes { try NIfTIHeader(bytes: $0, path: path) }
        let shape = header.volumeShape
        let count = shape.reduce(1, *)
        let size = NIfTIHeader.bytesPerVoxel[header.datatype]!
        let needed = header.voxelOffset + count * size
        guard needed <= bytes.count else {
            throw TweedieError.badInput("\(path): NIfTI data: vox_offset \(header.voxelOffset) + \(count) voxels x "
                                        + "\(size) bytes needs \(needed) bytes, file has \(bytes.count)")
        }
        let h = header
        let slope = h.scaleSlope.isFinite && h.scaleSlope != 0 ? h.scaleSlope : 1
        let intercept = h.scaleSlope.isFinite && h.scaleSlope != 0 && h.scaleIntercept.isFinite ? h.scaleIntercept : 0
        volume = bytes.withUnsafeBytes { raw in
            let src = UnsafeRawBufferPointer(rebasing: raw[h.voxelOffset..<needed])
            return Tensor(shape: shape) { out in
                Self.convert(src, datatype: h.datatype, littleEndian: h.littleEndian, into: out)
                if slope != 1 || intercept != 0 {
                    for i in 0..<out.count { out[i] = out[i] * slope + intercept }
                }
            }
        }
    }

    private static func convert(_ src: UnsafeRawBufferPointer, datatype: Int, littleEndian le: Bool,
                                into out: UnsafeMutableBufferPointer<Float>) {
        func u16(_ i: Int) -> UInt16 {
            let v = src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
            return le ? UInt16(littleEndian: v) : UInt16(bigEndian: v)
        }
        func u32(_ i: Int) -> UInt32 {
            let v = src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
            return le ? UInt32(littleEndian: v) : UInt32(bigEndian: v)
        }
        let n = out.count
        switch datatype {
        case 2: for i in 0..<n { out[i] = Float(src[i]) }
        case 256: for i in 0..<n { out[i] = Float(Int8(bitPattern: src[i])) }
        case 4: for i in 0..<n { out[i] = Float(Int16(bitPattern: u16(i))) }
        case 512: for i in 0..<n { out[i] = Float(u16(i)) }
        case 8: for i in 0..<n { out[i] = Float(Int32(bitPattern: u32(i))) }
        case 16: for i in 0..<n { out[i] = Float(bitPattern: u32(i)) }
        default:  // 64, float64 (the header admits no other code)
            for i in 0..<n {
                let v = src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                out[i] = Float(Double(bitPattern: le ? UInt64(littleEndian: v) : UInt64(bigEndian: v)))
            }
        }
    }
}
