import Foundation
import XCTest
import TweedieCore
import TweedieModels

final class SafeTensorsTests: XCTestCase {
    /// Writer output read back by the reader: F32 (incl. scalar, empty and NaN/inf), I64, metadata and odd names.
    func testRoundTripF32I64AndMetadata() throws {
        let dir = try IOScratchDirectory()
        defer { dir.remove() }
        let path = dir.path("model.safetensors")

        let a = Tensor(shape: [2, 3], data: [1, -2.5, 0, .infinity, -.greatestFiniteMagnitude, .leastNonzeroMagnitude])
        let nanBits = Tensor(shape: [2], data: [.nan, -0.0])
        let scalar = Tensor(scalar: 42)
        let empty = Tensor(shape: [0, 4])
        let oddName = "blocks.0.\"quoted\"\\slash\ttab.é"
        let ids: [Int64] = [0, -1, .max, .min, 1 << 40, 7]
        let meta = ["format": "pt", "quote\"key": "line\nbreak", "é": "ü"]

        try SafeTensorsWriter.write([("z.last", a), ("nan", nanBits), ("s", scalar), ("empty", empty), (oddName, a)],
                                    int64: [("ids", ids, [2, 3])], metadata: meta, to: path)

        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(f.path, path)
        XCTAssertEqual(f.names, [oddName, "empty", "ids", "nan", "s", "z.last"])
        XCTAssertEqual(f.metadata, meta)
        XCTAssertEqual(f.info("z.last"), SafeTensorInfo(dtype: "F32", shape: [2, 3]))
        XCTAssertEqual(f.info("ids"), SafeTensorInfo(dtype: "I64", shape: [2, 3]))
        XCTAssertEqual(f.info("s")?.shape, [])
        XCTAssertNil(f.info("absent"))
        XCTAssertEqual(try f.tensor("z.last"), a)
        XCTAssertEqual(try f.tensor(oddName), a)
        XCTAssertEqual(try f.tensor("s"), scalar)
        XCTAssertEqual(try f.tensor("empty"), empty)
        XCTAssertEqual(try f.tensor("nan").data.map(\.bitPattern), nanBits.data.map(\.bitPattern))
        XCTAssertEqual(try f.int64s("ids"), ids)
        XCTAssertEqual(try f.tensor("s", shape: []), scalar)
        // The shape-checked form is what model loading uses: it refuses the infinity at element 3.
        XCTAssertThrowsError(try f.tensor("z.last", shape: [2, 3])) {
            XCTAssertEqual(($0 as? TweedieError)?.message,
                           "\(dir.path("model.safetensors")): tensor 'z.last': element 3 is +Inf (values must be finite)")
        }
        XCTAssertEqual(try dir.contents(), ["model.safetensors"], "no temporary file may remain")
    }

    /// The layout the reference implementation produces: header padded with spaces to a multiple of 8, tensors
    /// stored contiguously in sorted name order.
    func testWriterLayout() throws {
        let dir = try IOScratchDirectory()
        defer { dir.remove() }
        let path = dir.path("layout.safetensors")
        try SafeTensorsWriter.write([("b", Tensor(shape: [3], data: [1, 2, 3])), ("a", Tensor(scalar: 5))],
                                    int64: [("c", [9], [1])], to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(bytes.count, 8 + n + 4 + 12 + 8)
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{") && header.trimmingCharacters(in: .whitespaces).hasSuffix("}"))
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        XCTAssertEqual(header.count - trimmed.count, header.reversed().prefix { $0 == " " }.count,
                       "padding is trailing spaces only")
        let object = try JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as! [String: [String: Any]]
        XCTAssertEqual(object["a"]?["data_offsets"] as? [Int], [0, 4])
        XCTAssertEqual(object["b"]?["data_offsets"] as? [Int], [4, 16])
        XCTAssertEqual(object["c"]?["data_offsets"] as? [Int], [16, 24])
        XCTAssertEqual(object["c"]?["dtype"] as? String, "I64")
        // Data section: 5.0f, then 1, 2, 3 (little-endian Float32), then Int64 9.
        XCTAssertEqual(Array(bytes[(8 + n)..<(8 + n + 4)]), [0x00, 0x00, 0xA0, 0x40])
        XCTAssertEqual(Array(bytes[(8 + n + 16)...]), [9, 0, 0, 0, 0, 0, 0, 0])
    }

    /// Rewriting an existing path replaces it in one step; a rejected write leaves the old file untouched.
    func testOverwriteAndFailedWriteKeepFileWhole() throws {
        let dir = try IOScratchDirectory()
        defer { dir.remove() }
        let path = dir.path("w.safetensors")
        try SafeTensorsWriter.write([("x", Tensor(shape: [2], data: [1, 2]))], to: path)
        try SafeTensorsWriter.write([("x", Tensor(shape: [3], data: [3, 4, 5]))], to: path)
        XCTAssertEqual(try SafeTensorsFile(path: path).tensor("x").data, [3, 4, 5])

        assertBadInput([path, "'x'"]) {
            try SafeTensorsWriter.write([("x", Tensor(scalar: 1)), ("x", Tensor(scalar: 2))], to: path)
        }
        assertBadInput([path, "'y'"]) {
            try SafeTensorsWriter.write([], int64: [("y", [1, 2, 3], [2])], to: path)
        }
        assertBadInput([path, "__metadata__"]) {
            try SafeTensorsWriter.write([("__metadata__", Tensor(scalar: 1))], to: path)
        }
        XCTAssertEqual(try SafeTensorsFile(path: path).tensor("x").data, [3, 4, 5])
        XCTAssertEqual(try dir.contents(), ["w.safetensors"])
    }

    func testUnwritablePathIsBadInput() throws {
        let dir = try IOScratchDirectory()
        defer { dir.remove() }
        let path = dir.path("no/such/dir/out.safetensors")
        assertBadInput([path]) { try SafeTensorsWriter.write([("x", Tensor(scalar: 1))], to: path) }
        XCTAssertEqual(try dir.contents(), [])
    }

    /// A file made by the reference safetensors package (scripts/make_io_fixtures.py); every stored value is
    /// exactly representable, so the expected values below are the script's inputs.
    func testReferenceFixture() throws {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("io/mixed.safetensors")
        let f = try SafeTensorsFile(path: url.path)
        XCTAssertEqual(f.names, ["brain", "double", "empty", "half", "int", "long", "scalar", "single"])
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "io fixture"])

        let half = try f.tensor("half")
        XCTAssertEqual(half.shape, [3, 4])
        let halfExpected: [Float] = [0, -0.0, 1, -2, 0.333251953125, 65504, 0x1p-14, 0x1p-24, 1023 * 0x1p-24,
                                     .infinity, -.infinity]
        XCTAssertEqual(Array(half.data.prefix(11)).map(\.bitPattern), halfExpected.map(\.bitPattern))
        XCTAssertTrue(half.data[11].isNaN)

        let brain = try f.tensor("brain")
        XCTAssertEqual(brain.shape, [2, 4])
        XCTAssertEqual(Array(brain.data.prefix(7)),
                       [1, -3.140625, 0.333984375, 0x1p-133, 3.3895313892515355e38, .infinity, -.infinity])
        XCTAssertTrue(brain.data[7].isNaN)

        let single = try f.tensor("single")
        XCTAssertEqual(single.shape, [2, 3, 4])
        XCTAssertEqual(single.data, (0..<24).map { Float($0) * 0.25 - 3 })
        XCTAssertEqual(try f.tensor("double").data, [Float(0.1 as Double), -1.5, .infinity])
        XCTAssertEqual(try f.tensor("scalar"), Tensor(scalar: 1.5))
        XCTAssertEqual(try f.tensor("empty").shape, [0, 3])
        XCTAssertEqual(try f.int64s("long"), [0, -1, (1 << 62) + 1, .min, .max, 7])
        XCTAssertEqual(f.info("long"), SafeTensorInfo(dtype: "I64", shape: [3, 2]))
        XCTAssertEqual(try f.int64s("int"), [Int64(Int32.min), Int64(Int32.max), 5])
    }

    /// F16 patterns against Float32 bit patterns computed with numpy (`bits.view(np.float16).astype(np.float32)`):
    /// subnormals, the normal boundary, largest finite, infinities and NaNs (payload kept, as numpy does).
    func testFloat16BitPatterns() throws {
        let table: [(UInt16, UInt32)] = [
            (0x0000, 0x0000_0000), (0x8000, 0x8000_0000), (0x0001, 0x3380_0000), (0x0002, 0x3400_0000),
            (0x03FF, 0x387F_C000), (0x0400, 0x3880_0000), (0x8001, 0xB380_0000), (0x83FF, 0xB87F_C000),
            (0x3555, 0x3EAA_A000), (0x7BFF, 0x477F_E000), (0xFBFF, 0xC77F_E000), (0x7C00, 0x7F80_0000),
            (0xFC00, 0xFF80_0000), (0x7C01, 0x7F80_2000), (0x7E00, 0x7FC0_0000), (0xFE00, 0xFFC0_0000),
            (0x1234, 0x3A46_8000), (0xABCD, 0xBD79_A000),
        ]
        let got = try decode(dtype: "F16", patterns: table.map(\.0))
        XCTAssertEqual(got.map(\.bitPattern), table.map(\.1))
    }

    /// BF16 patterns against Float32 bit patterns computed with torch (`.view(torch.bfloat16).float()`).
    func testBFloat16BitPatterns() throws {
        let table: [(UInt16, UInt32)] = [
            (0x0001, 0x0001_0000), (0x807F, 0x807F_0000), (0x3F80, 0x3F80_0000), (0x4049, 0x4049_0000),
            (0x7F7F, 0x7F7F_0000), (0xFF7F, 0xFF7F_0000), (0x7F80, 0x7F80_0000), (0x7FC1, 0x7FC1_0000),
            (0x1234, 0x1234_0000), (0xABCD, 0xABCD_0000),
        ]
        let got = try decode(dtype: "BF16", patterns: table.map(\.0))
        XCTAssertEqual(got.map(\.bitPattern), table.map(\.1))
    }

    #if !(os(macOS) && arch(x86_64))
    /// All 65536 F16 patterns against Swift's own Float16 conversion (NaNs compared by sign and NaN-ness only,
    /// since hardware conversion may quiet signalling NaNs).
    func testFloat16Exhaustive() throws {
        let patterns = (0...0xFFFF).map { UInt16($0) }
        let got = try decode(dtype: "F16", patterns: patterns)
        var mismatches = 0
        for (p, v) in zip(patterns, got) {
            let want = Float(Float16(bitPattern: p))
            let same = want.isNaN ? (v.isNaN && v.sign == want.sign) : v.bitPattern == want.bitPattern
            if !same { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
    }
    #endif

    /// Offsets need not be aligned: a 1-byte U8 tensor pushes the F32, F16 and I64 data to odd addresses,
    /// and the header length itself is odd.
    func testUnalignedDataAndOtherIntegerTypes() throws {
        let dir = try IOScratchDirectory()
        defer { dir.remove() }
        let path = dir.path("odd.safetensors")
        var data: [UInt8] = [200]                                       // u8 [0, 1)
        withUnsafeBytes(of: Float(-1.25).bitPattern.littleEndian) { data += $0 }   // f32 [1, 5)
        data += ioBytes([0x3C00, 0xC000])                               // f16 [5, 9)
        withUnsafeBytes(of: Int64(-3).littleEndian) { data += $0 }      // i64 [9, 17)
        data += ioBytes([0xFFFE])                                       // i16 [17, 19)
        data += [0xFF, 0x01, 0x00]                                      // i8 [19, 20), bool [20, 22)
        let entries = #"{"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"#
            + #""f":{"dtype":"F32","shape":[1],"data_offsets":[1,5]},"#
            + #""h":{"dtype":"F16","shape":[2],"data_offsets":[5,9]},"#
            + #""l":{"dtype":"I64","shape":[1],"data_offsets":[9,17]},"#
            + #""s":{"dtype":"I16","shape":[1],"data_offsets":[17,19]},"#
            + #""c":{"dtype":"I8","shape":[1],"data_offsets":[19,20]},"#
            + #""b":{"dtype":"BOOL","shape":[2],"data_offsets":[20,22]}}"#
        // A trailing space (legal JSON whitespace) makes the header length odd, so the data section is misaligned.
        let header = entries.utf8.count % 2 == 0 ? entries + " " : entries
        XCTAssertEqual(header.utf8.count % 2, 1)
        try ioRawSafeTensors(header: header, data: data).write(to: URL(fileURLWithPath: path))

        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(try f.tensor("f").data, [-1.25])
        XCTAssertEqual(try f.tensor("h").data, [1, -2])
        XCTAssertEqual(try f.int64s("l"), [-3])
        XCTAssertEqual(try f.int64s("u"), [200])
        XCTAssertEqual(try f.int64s("s"), [-2])
        XCTAssertEqual(try f.int64s("c"), [-1])
        XCTAssertEqual(try f.int64s("b"), [1, 0])
        XCTAssertEqual(f.info("b")?.dtype, "BOOL")
    }

    /// Writes `patterns` as a one-dimensional tensor of `dtype` (F16 or BF16) and reads it back as Float32.
    private func decode(dtype: String, patterns: [UInt16]) throws -> [Float] {
        let dir = try IOScratchDirectory()
        defer { dir.remove() }
        let path = dir.path("bits.safetensors")
        let n = patterns.count
        let header = #"{"t":{"dtype":"\#(dtype)","shape":[\#(n)],"data_offsets":[0,\#(2 * n)]}}"#
        try ioRawSafeTensors(header: header, data: ioBytes(patterns)).write(to: URL(fileURLWithPath: path))
        let t = try SafeTensorsFile(path: path).tensor("t")
        XCTAssertEqual(t.shape, [n])
        return t.data
    }
}
