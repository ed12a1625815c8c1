import TweedieCore

/// Dtype and shape of one tensor stored in a safetensors file.
public struct SafeTensorInfo: Equatable, Sendable {
    /// Stored element type as the header names it: "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8"
    /// or "BOOL".
    public let dtype: String
    /// Extent of each dimension, outermost first.
    public let shape: [Int]

    /// Describes a tensor of `dtype` and `shape` (e.g. to compare against `SafeTensorsFile.info`).
    public init(dtype: String, shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
    }

    /// Number of elements (product of `shape`).
    public var count: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file (8-byte little-endian header length, JSON header, raw data).
/// Opening maps the file and validates the whole header against the file size; tensors are decoded on demand.
/// Every failure is `TweedieError.badInput` naming the file and the tensor or header field at fault.
/// Validation is as strict as the reference implementation's: header at most 100 MB, no name listed twice,
/// byte length = shape product x dtype size, and the tensors contiguous in offset order covering the data section
/// exactly (no gap, overlap or trailing byte). Like the reference reader it needs no alignment. Truncating the
/// file while it is open is unsafe.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The path the file was opened from.
    public let path: String
    /// Key/value strings from the header's `__metadata__` entry (empty if absent).
    public let metadata: [String: String]
    /// Names of all tensors, sorted.
    public let names: [String]

    private let file: MappedFile
    private let header: SafeTensorsHeader
    /// Byte offset of the data section (8 + header length).
    private let dataStart: Int

    /// Opens and maps `path`, validating the header length, JSON and every tensor's dtype, shape and offsets.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        guard file.size >= 8 else {
            throw TweedieError.badInput("\(path): header: file is \(file.size) bytes, too short for a safetensors "
                                        + "header length (8 bytes)")
        }
        let lengthBytes = file.bytes(0..<8)
        let headerLength = UInt64(littleEndian: lengthBytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(file.size - 8) else {
            // The value is not echoed: for a file that is not a safetensors file it is eight bytes of its content.
            throw TweedieError.badInput("\(path): header: the length field exceeds the \(file.size - 8) bytes after it "
                                        + "(not a safetensors file?)")
        }
        guard headerLength <= UInt64(SafeTensorsHeader.maxHeaderBytes) else {
            throw TweedieError.badInput("\(path): header: length \(headerLength) exceeds the "
                                        + "\(SafeTensorsHeader.maxHeaderBytes >> 20) MB limit")
        }
        dataStart = 8 + Int(headerLength)
        header = try SafeTensorsHeader(json: file.bytes(8..<dataStart), dataSize: file.size - dataStart, path: path)
        metadata = header.metadata
        names = header.entries.keys.sorted()
    }

    /// Dtype and shape of tensor `name`, or nil if the file has no such tensor.
    public func info(_ name: String) -> SafeTensorInfo? {
        guard let e = header.entries[name] else { return nil }
        return SafeTensorInfo(dtype: e.dtype.rawValue, shape: e.shape)
    }

    /// Tensor `name` converted to Float32 (from F32, F16, BF16 or F64), every value as stored (NaN and infinities
    /// included). An absent name or an integer dtype is `badInput` naming the file and tensor.
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        return try tensor(name, entry: e, rows: 0..<(e.shape.first ?? 1), finite: false)
    }

    /// Rows `rows` of tensor `name` along its first dimension, as Float32 [rows.count, ...]; only those bytes are
    /// read (a rank-0 tensor has one row). Like the shape-checked form, it refuses NaN and infinite values
    /// (`badInput` naming the element): it reads noise and inputs, where one NaN turns every output NaN.
    public func tensor(_ name: String, rows: Range<Int>) throws -> Tensor {
        let e = try entry(name)
        let available = e.shape.first ?? 1
        guard rows.lowerBound >= 0, rows.upperBound <= available else {
            throw TweedieError.badInput("\(path): tensor '\(name)': rows \(rows.lowerBound)..<\(rows.upperBound) are "
                                        + "outside its \(available)")
        }
        return try tensor(name, entry: e, rows: rows, finite: true)
    }

    private func tensor(_ name: String, entry e: SafeTensorsHeader.Entry, rows: Range<Int>,
                        finite: Bool) throws -> Tensor {
        guard e.dtype.isFloat else {
            throw TweedieError.badInput("\(path): tensor '\(name)': dtype \(e.dtype.rawValue) is not a "
                                        + "floating-point type")
        }
        let outer = e.shape.first ?? 1
        let per = outer == 0 ? 0 : e.count / outer
        let count = per * rows.count
        let begin = dataStart + e.bytes.lowerBound + rows.lowerBound * per * e.dtype.byteSize
        let src = file.bytes(begin..<(begin + count * e.dtype.byteSize))
        let shape = e.shape.isEmpty ? [] : [rows.count] + e.shape.dropFirst()
        let t = Tensor(shape: shape) { dst in
            guard let s = src.baseAddress, let d = dst.baseAddress else { return }
            decodeFloats(e.dtype, from: s, into: d, count: count)
        }
        file.release(begin..<(begin + count * e.dtype.byteSize))
        guard finite else { return t }
        let bad: Int? = t.withUnsafeBufferPointer { p in
            for i in 0..<p.count where !p[i].isFinite { return i }
            return nil
        }
        if let i = bad {
            let v = t.data[i]
            throw TweedieError.badInput("\(path): tensor '\(name)': element \(rows.lowerBound * per + i) is "
                                        + "\(v.isNaN ? "NaN" : v > 0 ? "+Inf" : "-Inf") (values must be finite)")
        }
        return t
    }

    /// Tensor `name` as Float32 after checking that its shape is `shape` and that every value is finite: the form
    /// model loading uses, so a checkpoint with a NaN or infinite weight is refused at load. A different shape or
    /// a non-finite value is `badInput` naming the file, tensor and shapes or element.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let e = try entry(name)
        guard e.shape == shape else {
            throw TweedieError.badInput("\(path): tensor '\(name)': shape \(e.shape), expected \(shape)")
        }
        return try tensor(name, entry: e, rows: 0..<(e.shape.first ?? 1), finite: true)
    }

    /// Elements of integer tensor `name` (I64, I32, I16, I8, U8 or BOOL) as Int64, row-major. An absent name or a
    /// floating-point dtype is `badInput` naming the file and tensor.
    public func int64s(_ name: String) throws -> [Int64] {
        let e = try entry(name)
        guard !e.dtype.isFloat else {
            throw TweedieError.badInput("\(path): tensor '\(name)': dtype \(e.dtype.rawValue) is not an integer type")
        }
        let src = file.bytes((dataStart + e.bytes.lowerBound)..<(dataStart + e.bytes.upperBound))
        return [Int64](unsafeUninitializedCapacity: e.count) { dst, initialized in
            if let s = src.baseAddress, let d = dst.baseAddress {
                decodeIntegers(e.dtype, from: s, into: d, count: e.count)
            }
            initialized = e.count
        }
    }

    /// Elements of I8 tensor `name` after checking that its shape is `shape`, read straight from the mapped bytes
    /// (quantized weights: no wider intermediate copy). Another dtype or shape is `badInput` naming the tensor.
    public func int8s(_ name: String, shape: [Int]) throws -> [Int8] {
        let e = try entry(name)
        guard e.dtype == .i8 else {
            throw TweedieError.badInput("\(path): tensor '\(name)': dtype \(e.dtype.rawValue), expected I8")
        }
        guard e.shape == shape else {
            throw TweedieError.badInput("\(path): tensor '\(name)': shape \(e.shape), expected \(shape)")
        }
        let range = (dataStart + e.bytes.lowerBound)..<(dataStart + e.bytes.upperBound)
        let src = file.bytes(range)
        defer { file.release(range) }
        return [Int8](unsafeUninitializedCapacity: e.count) { dst, initialized in
            if let s = src.baseAddress, let d = dst.baseAddress {
                UnsafeMutableRawPointer(d).copyMemory(from: s, byteCount: e.count)
            }
            initialized = e.count
        }
    }

    private func entry(_ name: String) throws -> SafeTensorsHeader.Entry {
        guard let e = header.entries[name] else {
            throw TweedieError.badInput("\(path): tensor '\(name)': not found (file has \(names.count) tensors)")
        }
        return e
    }
}
