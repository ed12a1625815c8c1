import Foundation
import XCTest
import TweedieCore
import TweedieModels

final class JSONConfigTests: XCTestCase {
    private var dir: IOScratchDirectory!

    override func setUpWithError() throws { dir = try IOScratchDirectory() }
    override func tearDown() { dir.remove() }

    /// Writes `text` to config.json in the scratch directory and returns its path.
    private func write(_ text: String, name: String = "config.json") throws -> String {
        let path = dir.path(name)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// A config shaped like diffusers' UNet2DModel config.json, with the null fields diffusers writes.
    private let unetJSON = """
    {
      "_class_name": "UNet2DModel",
      "_diffusers_version": "0.42.0",
      "sample_size": 32,
      "in_channels": 3.0,
      "norm_eps": 1e-05,
      "norm_num_groups": 32,
      "dropout": 0,
      "center_input_sample": false,
      "block_out_channels": [32, 64.0],
      "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
      "attention_head_dim": 8,
      "class_embed_type": null,
      "num_class_embeds": null,
      "betas": [0.5, 1, 2.5e-3]
    }
    """

    func testTypedReads() throws {
        let path = try write(unetJSON)
        let c = try JSONConfig(path: path)
        XCTAssertEqual(c.path, path)
        XCTAssertEqual(c.text, unetJSON)
        XCTAssertEqual(try c.requireString("_class_name"), "UNet2DModel")
        XCTAssertEqual(try c.int("sample_size", default: 0), 32)
        XCTAssertEqual(try c.requireInt("in_channels"), 3, "an integral float reads as Int")
        XCTAssertEqual(try c.float("norm_eps", default: 0), 1e-5)
        XCTAssertEqual(try c.double("norm_eps"), 1e-5)
        XCTAssertEqual(try c.float("dropout", default: 0.5), 0, "an int reads as Float")
        XCTAssertEqual(try c.bool("center_input_sample", default: true), false)
        XCTAssertEqual(try c.ints("block_out_channels", default: []), [32, 64])
        XCTAssertEqual(try c.strings("down_block_types", default: []), ["DownBlock2D", "AttnDownBlock2D"])
        XCTAssertEqual(try c.floats("betas", default: []), [0.5, 1, 2.5e-3])
        XCTAssertEqual(try c.intOrInts("attention_head_dim", count: 2, default: []), [8, 8])
        XCTAssertEqual(try c.intOrInts("block_out_channels", count: 2, default: []), [32, 64])
        XCTAssertTrue(c.keys.contains("num_class_embeds"))
        XCTAssertEqual(c.keys, c.keys.sorted())
    }

    /// Absent keys and keys present with null both take the default (diffusers writes null for unset options).
    func testNullAndAbsentUseDefaults() throws {
        let c = try JSONConfig(path: try write(unetJSON))
        XCTAssertFalse(c.has("num_class_embeds"))
        XCTAssertFalse(c.has("no_such_key"))
        XCTAssertTrue(c.has("sample_size"))
        XCTAssertEqual(try c.int("num_class_embeds", default: 7), 7)
        XCTAssertNil(try c.int("num_class_embeds"))
        XCTAssertNil(try c.string("class_embed_type"))
        XCTAssertEqual(try c.string("class_embed_type", default: "none"), "none")
        XCTAssertEqual(try c.int("layers_per_block", default: 2), 2)
        XCTAssertEqual(try c.float("missing", default: 0.25), 0.25)
        XCTAssertEqual(try c.bool("missing", default: true), true)
        XCTAssertEqual(try c.ints("missing", default: [1, 2]), [1, 2])
        XCTAssertEqual(try c.strings("num_class_embeds", default: ["x"]), ["x"])
        XCTAssertEqual(try c.intOrInts("num_class_embeds", count: 3, default: [4, 5, 6]), [4, 5, 6])
    }

    func testRequiredFieldMissing() throws {
        let path = try write(unetJSON)
        let c = try JSONConfig(path: path)
        assertBadInput([path, "missing required field 'layers_per_block'"]) { _ = try c.requireInt("layers_per_block") }
        assertBadInput([path, "'num_class_embeds'"]) { _ = try c.requireInt("num_class_embeds") }
        assertBadInput([path, "'x'"]) { _ = try c.requireFloat("x") }
        assertBadInput([path, "'x'"]) { _ = try c.requireBool("x") }
        assertBadInput([path, "'x'"]) { _ = try c.requireStrings("x") }
        assertBadInput([path, "'x'"]) { _ = try c.requireInts("x") }
    }

    func testWrongTypes() throws {
        let path = try write("""
        {"s": "32", "f": 2.5, "b": true, "i": 1, "a": [1, "two"], "o": {"k": 1}, "big": 1e300, "n": [1, null]}
        """)
        let c = try JSONConfig(path: path)
        assertBadInput([path, "field 's'", "expected int", "string \"32\""]) { _ = try c.int("s", default: 0) }
        assertBadInput([path, "field 'f'", "expected int", "2.5"]) { _ = try c.int("f", default: 0) }
        assertBadInput([path, "field 'b'", "expected int", "bool true"]) { _ = try c.int("b", default: 0) }
        assertBadInput([path, "field 'big'", "expected int"]) { _ = try c.int("big", default: 0) }
        assertBadInput([path, "field 'i'", "expected bool", "number 1"]) { _ = try c.bool("i", default: false) }
        assertBadInput([path, "field 'b'", "expected number"]) { _ = try c.float("b", default: 0) }
        assertBadInput([path, "field 's'", "expected number"]) { _ = try c.float("s", default: 0) }
        assertBadInput([path, "field 'i'", "expected string"]) { _ = try c.string("i", default: "") }
        assertBadInput([path, "field 'a'", "index 1"]) { _ = try c.ints("a", default: []) }
        assertBadInput([path, "field 'n'", "null", "index 1"]) { _ = try c.ints("n", default: []) }
        assertBadInput([path, "field 'i'", "expected array"]) { _ = try c.strings("i", default: []) }
        assertBadInput([path, "field 'o'", "object"]) { _ = try c.ints("o", default: []) }
        assertBadInput([path, "field 'a'"]) { _ = try c.intOrInts("a", count: 2, default: []) }
        assertBadInput([path, "field 'f'"]) { _ = try c.intOrInts("f", count: 2, default: []) }
    }

    func testIntOrIntsCountMismatch() throws {
        let path = try write(#"{"heads": [8, 8, 8]}"#)
        assertBadInput([path, "'heads'", "2 entries"]) {
            _ = try JSONConfig(path: path).intOrInts("heads", count: 2, default: [])
        }
    }

    func testUnreadableOrMalformedFiles() throws {
        let missing = dir.path("nope/config.json")
        assertBadInput([missing]) { _ = try JSONConfig(path: missing) }
        assertBadInput([dir.url.path]) { _ = try JSONConfig(path: dir.url.path) }
        let broken = try write(#"{"a": 1,"#, name: "broken.json")
        assertBadInput([broken, "JSON"]) { _ = try JSONConfig(path: broken) }
        let array = try write("[1, 2]", name: "array.json")
        assertBadInput([array, "object"]) { _ = try JSONConfig(path: array) }
        let empty = try write("", name: "empty.json")
        assertBadInput([empty]) { _ = try JSONConfig(path: empty) }
    }

    func testInMemoryDataUsesLabel() throws {
        let c = try JSONConfig(data: Data(#"{"k": "v"}"#.utf8), path: "inline.json")
        XCTAssertEqual(try c.string("k", default: ""), "v")
        assertBadInput(["inline.json", "'k'"]) { _ = try c.int("k", default: 0) }
    }
}
