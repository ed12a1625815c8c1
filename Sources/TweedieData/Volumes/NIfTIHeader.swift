import TweedieCore

/// The fields of a NIfTI-1 header (348 bytes) that reading a volume needs. Byte order is detected from
/// `sizeof_hdr`, which must read 348 in one of the two orders.
public struct NIfTIHeader: Equatable, Sendable {
    /// Size of the fixed header.
    public static let size = 348

    /// Whether the file is little-endian.
    public let littleEndian: Bool
    /// Extent of each dimension in file order (x fastest), `dim[1...dim[0]]`.
    public let dimensions: [Int]
    /// NIfTI datatype code (2 uint8, 4 int16, 8 int32, 16 float32, 64 float64, 256 int8, 512 uint16).
    public let datatype: Int
    /// Bits per voxel.
    public let bitpix: Int
    /// Voxel spacing of each dimension (`pixdim[1...dim[0]]`).
    public let spacing: [Float]
    /// Byte offset of the voxel data in a single-file (.nii) image.
    public let voxelOffset: Int
    /// Intensity scaling `value * slope + intercept`, applied when the slope is finite and non-zero.
    public let scaleSlope: Float
    public let scaleIntercept: Float
    /// The `descrip` text.
    public let descriptionText: String
    /// The `magic` field: "n+1" for single-file NIfTI-1.
    public let magic: String

    /// Bytes per voxel of each supported datatype.
    public static let bytesPerVoxel: [Int: Int] = [2: 1, 4: 2, 8: 4, 16: 4, 64: 8, 256: 1, 512: 2]

    /// Parses and validates the header at the start of `bytes`; `path` names the file in errors.
    public init(bytes: UnsafeRawBufferPointer, path: String) throws {
        func bad(_ field: String, _ what: String) -> TweedieError { .badInput("\(path): NIfTI \(field): \(what)") }
        guard bytes.count >= Self.size else {
            throw bad("sizeof_hdr", "file has \(bytes.count) bytes, the header needs \(Self.size)")
        }
        let raw = bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        if UInt32(littleEndian: raw) == 348 {
            littleEndian = true
        } else if UInt32(bigEndian: raw) == 348 {
            littleEndian = false
        } else {
            throw bad("sizeof_hdr", "is neither 348 little- nor big-endian (not a NIfTI-1 file)")
        }
        let le = littleEndian
        func i16(_ o: Int) -> Int {
            let v = bytes.loadUnaligned(fromByteOffset: o, as: UInt16.self)
            return Int(Int16(bitPattern: le ? UInt16(littleEndian: v) : UInt16(bigEndian: v)))
        }
        func f32(_ o: Int) -> Float {
            let v = bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self)
            return Float(bitPattern: le ? UInt32(littleEndian: v) : UInt32(bigEndian: v))
        }
        func text(_ o: Int, _ n: Int) -> String {
            let field = UnsafeRawBufferPointer(rebasing: bytes[o..<o + n])
            return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
        }
        magic = text(344, 4)
        guard magic == "n+1" else {
            throw bad("magic", magic == "ni1" ? "\"ni1\" (separate .hdr/.img pair) is not supported; use a .nii file"
                                              : "\"\(magic)\" is not \"n+1\"")
        }
        let rank = i16(40)
        guard (1...7).contains(rank) else { throw bad("dim[0]", "\(rank) is not in 1...7") }
        dimensions = (1...rank).map { i16(40 + 2 * $0) }
        if let k = dimensions.firstIndex(where: { $0 < 1 }) {
            throw bad("dim[\(k + 1)]", "\(dimensions[k]) is not positive")
        }
        datatype = i16(70)
        bitpix = i16(72)
        guard let size = Self.bytesPerVoxel[datatype] else {
            throw bad("datatype", "\(datatype) unsupported (uint8, int16, int32, float32, float64, int8, uint16)")
        }
        guard bitpix == 8 * size else { throw bad("bitpix", "\(bitpix) does not match datatype \(datatype)") }
        spacing = (1...rank).map { f32(76 + 4 * $0) }
        let offset = f32(108)
        guard offset.isFinite, offset >= 352, offset == offset.rounded(), offset < Float(Int32.max) else {
            throw bad("vox_offset", "\(offset) is not a whole number >= 352")
        }
        voxelOffset = Int(offset)
        scaleSlope = f32(112)
        scaleIntercept = f32(116)
        descriptionText = text(148, 80)
    }

    /// Shape of the first 3-D volume as [Z, Y, X] (missing dimensions are 1); further dimensions are not read.
    public var volumeShape: [Int] {
        let d = dimensions + [1, 1, 1]
        return [d[2], d[1], d[0]]
    }
}
