import Foundation
import XCTest
import TweedieCore
import TweedieModels

/// Malformed safetensors files: each must fail on open (or on access) with a one-line badInput naming the file and
/// the tensor or header field at fault, never by crashing or reading outside the file.
final class BadInputTests: XCTestCase {
    private var dir: IOScratchDirectory!

    override func setUpWithError() throws { dir = try IOScratchDirectory() }
    override func tearDown() { dir.remove() }

    /// Writes raw bytes to a fresh file and returns its path.
    private func file(_ name: String, _ bytes: Data) throws -> String {
        let path = dir.path(name)
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    private let goodEntry = #""w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#

    func testMissingFile() {
        let path = dir.path("absent.safetensors")
        assertBadInput([path]) { _ = try SafeTensorsFile(path: path) }
    }

    func testDirectoryIsNotAFile() {
        assertBadInput([dir.url.path]) { _ = try SafeTensorsFile(path: dir.url.path) }
    }

    func testShorterThanLengthField() throws {
        let path = try file("short.safetensors", Data([1, 2, 3, 4, 5]))
        assertBadInput([path, "header"]) { _ = try SafeTensorsFile(path: path) }
        let empty = try file("empty.safetensors", Data())
        assertBadInput([empty, "header"]) { _ = try SafeTensorsFile(path: empty) }
    }

    func testHeaderLengthBeyondFile() throws {
        let path = try file("long.safetensors", ioRawSafeTensors(header: "{}", declaredLength: 3))
        // The declared length is not echoed (for a file that is not safetensors it would be 8 bytes of content).
        assertBadInput([path, "header", "length field exceeds the 2 bytes"]) { _ = try SafeTensorsFile(path: path) }
        let huge = try file("huge.safetensors", ioRawSafeTensors(header: "{}", declaredLength: .max))
        assertBadInput([huge, "header"]) { _ = try SafeTensorsFile(path: huge) }
    }

    /// A header length within a (sparse) 160 MB file but above the 100 MB sanity cap.
    func testHeaderLengthAboveCap() throws {
        let path = try file("cap.safetensors", ioRawSafeTensors(header: "", declaredLength: 150 << 20))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 160 << 20)
        try handle.close()
        assertBadInput([path, "header", "limit"]) { _ = try SafeTensorsFile(path: path) }
    }

    func testHeaderNotJSON() throws {
        let path = try file("garbage.safetensors", ioRawSafeTensors(header: "{not json at all", data: [0, 0]))
        assertBadInput([path, "header", "JSON"]) { _ = try SafeTensorsFile(path: path) }
        let array = try file("array.safetensors", ioRawSafeTensors(header: "[1, 2]"))
        assertBadInput([array, "header", "object"]) { _ = try SafeTensorsFile(path: array) }
        let deep = try file("deep.safetensors", ioRawSafeTensors(header: String(repeating: "[", count: 5000)))
        assertBadInput([deep, "header"]) { _ = try SafeTensorsFile(path: deep) }
        let utf = try file("utf.safetensors", Data(ioRawSafeTensors(header: "{}")) + Data([0xFF]))
        assertBadInput([utf, "header", "1 trailing bytes"]) { _ = try SafeTensorsFile(path: utf) }
        // Header bytes {"\xFF":{}}: not UTF-8.
        var raw = Data()
        withUnsafeBytes(of: UInt64(8).littleEndian) { raw.append(contentsOf: $0) }
        raw.append(contentsOf: [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x7B, 0x7D, 0x7D])
        let bad = try file("latin1.safetensors", raw)
        assertBadInput([bad]) { _ = try SafeTensorsFile(path: bad) }
    }

    func testUnknownDType() throws {
        let header = #"{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}}"#
        let path = try file("dtype.safetensors", ioRawSafeTensors(header: header, data: [0]))
        assertBadInput([path, "'w'", "dtype", "Q4"]) { _ = try SafeTensorsFile(path: path) }
        let missing = try file("nodtype.safetensors",
                               ioRawSafeTensors(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        assertBadInput([missing, "'w'", "dtype"]) { _ = try SafeTensorsFile(path: missing) }
    }

    func testBadShape() throws {
        for (i, shape) in ["[-2]", "[1.5]", "\"2\"", "[true]", "null"].enumerated() {
            let header = #"{"w":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,8]}}"#
            let path = try file("shape\(i).safetensors", ioRawSafeTensors(header: header, data: [UInt8](repeating: 0, count: 8)))
            assertBadInput([path, "'w'", "shape"]) { _ = try SafeTensorsFile(path: path) }
        }
        // An overflowing element count must be reported, not wrapped around.
        let header = #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#
        let path = try file("overflow.safetensors", ioRawSafeTensors(header: header))
        assertBadInput([path, "'w'", "shape"]) { _ = try SafeTensorsFile(path: path) }
    }

    func testOffsetsOutOfRange() throws {
        let past = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let p1 = try file("past.safetensors", ioRawSafeTensors(header: past, data: [UInt8](repeating: 0, count: 8)))
        assertBadInput([p1, "'w'", "data_offsets"]) { _ = try SafeTensorsFile(path: p1) }

        let reversed = #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#
        let p2 = try file("rev.safetensors", ioRawSafeTensors(header: reversed, data: [UInt8](repeating: 0, count: 8)))
        assertBadInput([p2, "'w'", "data_offsets"]) { _ = try SafeTensorsFile(path: p2) }

        for (i, offsets) in ["[0]", "[0,8,9]", "[-1,7]", "[0,\"8\"]", "{}"].enumerated() {
            let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":\#(offsets)}}"#
            let p = try file("offs\(i).safetensors", ioRawSafeTensors(header: header, data: [UInt8](repeating: 0, count: 8)))
            assertBadInput([p, "'w'", "data_offsets"]) { _ = try SafeTensorsFile(path: p) }
        }
    }

    /// The reference implementation's layout rules: no name twice (however spelled), tensors contiguous in offset
    /// order from byte 0, and the data section covered exactly.
    func testDuplicateNamesGapsOverlapsAndTrailingBytes() throws {
        let eight = [UInt8](repeating: 0, count: 8)
        let twice = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        let p1 = try file("twice.safetensors", ioRawSafeTensors(header: twice, data: eight))
        assertBadInput([p1, "'w'", "listed twice"]) { _ = try SafeTensorsFile(path: p1) }
        let escaped = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        let p2 = try file("escaped.safetensors", ioRawSafeTensors(header: escaped, data: eight))
        assertBadInput([p2, "'w'", "listed twice"]) { _ = try SafeTensorsFile(path: p2) }
        let field = #"{"w":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#
        let p3 = try file("field.safetensors", ioRawSafeTensors(header: field, data: eight))
        assertBadInput([p3, "header", "'dtype'", "'w'"]) { _ = try SafeTensorsFile(path: p3) }

        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        let p4 = try file("overlap.safetensors", ioRawSafeTensors(header: overlap, data: eight))
        assertBadInput([p4, "'b'", "overlap", "'a'"]) { _ = try SafeTensorsFile(path: p4) }
        let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[1],"data_offsets":[6,8]}}"#
        let p5 = try file("gap.safetensors", ioRawSafeTensors(header: gap, data: eight))
        assertBadInput([p5, "'b'", "gap of 2 bytes", "'a'"]) { _ = try SafeTensorsFile(path: p5) }
        let late = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        let p6 = try file("late.safetensors", ioRawSafeTensors(header: late, data: eight))
        assertBadInput([p6, "'a'", "gap of 4 bytes", "start of the data section"]) { _ = try SafeTensorsFile(path: p6) }
        let trailing = try file("trailing.safetensors", ioRawSafeTensors(header: "{\(goodEntry)}", data: eight + [0]))
        assertBadInput([trailing, "header", "8 of the 9 bytes"]) { _ = try SafeTensorsFile(path: trailing) }
        // Out of name order but contiguous in offset order, with an empty tensor: accepted, as by the reference.
        let shuffled = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}"#
        let ok = try file("shuffled.safetensors", ioRawSafeTensors(header: shuffled, data: eight))
        XCTAssertEqual(try SafeTensorsFile(path: ok).names, ["a", "b", "e"])
    }

    func testSizeShapeMismatch() throws {
        let header = #"{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}"#
        let path = try file("size.safetensors", ioRawSafeTensors(header: header, data: [UInt8](repeating: 0, count: 8)))
        assertBadInput([path, "'w'", "6"]) { _ = try SafeTensorsFile(path: path) }
    }

    /// A valid file cut short: the last tensor's data no longer fits, and that tensor is named.
    func testTruncatedFile() throws {
        let path = dir.path("cut.safetensors")
        try SafeTensorsWriter.write([("a", Tensor(shape: [4], repeating: 1)), ("b", Tensor(shape: [4], repeating: 2))],
                                    to: path)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - 3)
        try handle.close()
        assertBadInput([path, "'b'", "data_offsets"]) { _ = try SafeTensorsFile(path: path) }
    }

    func testBadEntryAndMetadata() throws {
        let notObject = try file("entry.safetensors", ioRawSafeTensors(header: #"{"w":[1,2]}"#))
        assertBadInput([notObject, "'w'"]) { _ = try SafeTensorsFile(path: notObject) }
        let meta = #"{"__metadata__":{"epoch":3},\#(goodEntry)}"#
        let p = try file("meta.safetensors", ioRawSafeTensors(header: meta, data: [UInt8](repeating: 0, count: 8)))
        assertBadInput([p, "__metadata__", "epoch"]) { _ = try SafeTensorsFile(path: p) }
    }

    func testMissingTensorAndWrongKind() throws {
        let path = try file("ok.safetensors",
                            ioRawSafeTensors(header: "{\(goodEntry)}", data: [UInt8](repeating: 0, count: 8)))
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(try f.tensor("w").data, [0, 0])
        assertBadInput([path, "'conv.weight'"]) { _ = try f.tensor("conv.weight") }
        assertBadInput([path, "'conv.weight'"]) { _ = try f.int64s("conv.weight") }
        assertBadInput([path, "'w'", "F32"]) { _ = try f.int64s("w") }
        assertBadInput([path, "'w'", "[2]", "[1, 2]"]) { _ = try f.tensor("w", shape: [1, 2]) }

        let ints = try file("ints.safetensors", ioRawSafeTensors(
            header: #"{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)))
        assertBadInput([ints, "'i'", "I64"]) { _ = try SafeTensorsFile(path: ints).tensor("i") }
    }
}
