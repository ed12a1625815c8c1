import Foundation
import TweedieCore

/// The parsed and fully validated JSON header of a safetensors file.
/// Validation happens here, before any tensor byte is touched, so later reads need no further checks.
struct SafeTensorsHeader {
    /// One tensor's entry; `bytes` is relative to the start of the data section.
    struct Entry {
        let dtype: SafeTensorDType
        let shape: [Int]
        let count: Int
        let bytes: Range<Int>
    }

    /// Largest header accepted: real headers are a few hundred kilobytes even for very large models.
    static let maxHeaderBytes = 100 << 20

    let entries: [String: Entry]
    let metadata: [String: String]

    /// Parses `json` (the header bytes) and checks every entry against a data section of `dataSize` bytes.
    /// Errors are `badInput("<path>: header: ...")` or `badInput("<path>: tensor '<name>': ...")`.
    init(json: UnsafeRawBufferPointer, dataSize: Int, path: String) throws {
        func headerError(_ what: String) -> TweedieError { .badInput("\(path): header: \(what)") }

        let data = Data(json)
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw headerError("not valid UTF-8 JSON\(JSONValue.parseFailure(error))")
        }
        guard let object = parsed as? [String: Any] else { throw headerError("not a JSON object") }
        // The parser keeps the last of two equal keys; the reference implementation refuses the file.
        if let dup = JSONDuplicateKeys.find(in: json) {
            if dup.object.isEmpty {
                throw TweedieError.badInput("\(path): tensor '\(dup.key)': listed twice in the header")
            }
            throw headerError("key '\(dup.key)' appears twice in '\(dup.object)'")
        }

        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        // Sorted so that a file with several faults always reports the same one first.
        for name in object.keys.sorted() {
            let value = object[name]!
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else {
                    throw headerError("__metadata__ is \(JSONValue.describe(value)), expected an object of strings")
                }
                for (k, v) in dict {
                    guard let s = v as? String else {
                        throw headerError("__metadata__ '\(k)' is \(JSONValue.describe(v)), expected a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            entries[name] = try Self.entry(name: name, value: value, dataSize: dataSize, path: path)
        }
        try Self.checkLayout(entries, dataSize: dataSize, path: path)
        self.entries = entries
        self.metadata = metadata
    }

    /// As the reference implementation requires: the tensors, in offset order, follow each other without gap or
    /// overlap from byte 0 and end exactly at the end of the data section (no trailing bytes).
    private static func checkLayout(_ entries: [String: Entry], dataSize: Int, path: String) throws {
        let ordered = entries.sorted {
            ($0.value.bytes.lowerBound, $0.value.bytes.upperBound, $0.key)
                < ($1.value.bytes.lowerBound, $1.value.bytes.upperBound, $1.key)
        }
        var end = 0
        var previous: (name: String, bytes: Range<Int>)?
        for (name, e) in ordered {
            guard e.bytes.lowerBound == end else {
                let after = previous.map { "tensor '\($0.name)' [\($0.bytes.lowerBound), \($0.bytes.upperBound)]" }
                    ?? "the start of the data section"
                let what = e.bytes.lowerBound > end ? "leave a gap of \(e.bytes.lowerBound - end) bytes after"
                    : "overlap"
                throw TweedieError.badInput("\(path): tensor '\(name)': data_offsets [\(e.bytes.lowerBound), "
                                            + "\(e.bytes.upperBound)] \(what) \(after) (tensors must be contiguous)")
            }
            end = e.bytes.upperBound
            previous = (name, e.bytes)
        }
        guard end == dataSize else {
            throw TweedieError.badInput("\(path): header: the tensors cover \(end) of the \(dataSize) bytes of the data "
                                        + "section (\(dataSize - end) trailing bytes)")
        }
    }

    private static func entry(name: String, value: Any, dataSize: Int, path: String) throws -> Entry {
        func fail(_ what: String) -> TweedieError { .badInput("\(path): tensor '\(name)': \(what)") }

        guard let fields = value as? [String: Any] else {
            throw fail("entry is \(JSONValue.describe(value)), expected an object")
        }
        guard let rawDType = fields["dtype"] else { throw fail("missing 'dtype'") }
        guard let dtypeName = rawDType as? String else {
            throw fail("'dtype' is \(JSONValue.describe(rawDType)), expected a string")
        }
        guard let dtype = SafeTensorDType(rawValue: dtypeName) else {
            throw fail("unknown dtype '\(dtypeName)' (expected one of \(SafeTensorDType.acceptedNames))")
        }

        guard let rawShape = fields["shape"] else { throw fail("missing 'shape'") }
        guard let shapeArray = rawShape as? [Any] else {
            throw fail("'shape' is \(JSONValue.describe(rawShape)), expected an array of non-negative integers")
        }
        var shape: [Int] = []
        shape.reserveCapacity(shapeArray.count)
        for d in shapeArray {
            guard let v = JSONValue.exactInt(d), v >= 0 else {
                throw fail("'shape' has \(JSONValue.describe(d)), expected non-negative integers")
            }
            shape.append(v)
        }

        guard let rawOffsets = fields["data_offsets"] else { throw fail("missing 'data_offsets'") }
        guard let offsets = rawOffsets as? [Any], offsets.count == 2,
              let begin = JSONValue.exactInt(offsets[0]), let end = JSONValue.exactInt(offsets[1]),
              begin >= 0, end >= 0 else {
            throw fail("'data_offsets' must be two non-negative integers [begin, end]")
        }
        guard begin <= end else { throw fail("data_offsets [\(begin), \(end)] have begin after end") }
        guard end <= dataSize else {
            throw fail("data_offsets [\(begin), \(end)] exceed the data section (\(dataSize) bytes)")
        }

        // Overflow-checked element and byte counts: a hostile shape must not wrap around to a small number.
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { throw fail("shape \(shape) is too large") }
            count = p
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        if overflow { throw fail("shape \(shape) is too large") }
        guard needed == end - begin else {
            throw fail("data_offsets [\(begin), \(end)] span \(end - begin) bytes but shape \(shape) of "
                       + "\(dtype.rawValue) needs \(needed) bytes")
        }
        return Entry(dtype: dtype, shape: shape, count: count, bytes: begin..<end)
    }
}
