import Foundation
import XCTest
import Tweedie
import TweedieOperators

/// The reader of `tweedie reconstruct --measurements` files on its own: what it accepts, and every kind of bad
/// file (each a `badInput` naming the field), including the inputs the `measurements` fuzz target found.
final class MeasurementsFileTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try GenerateTesting.tempDir(self) }

    private func plane(_ n: Int, _ k: Float) -> [Float] { (0..<n).map { sinf(0.7 * Float($0) + k) } }

    /// A 4x4 file: single-coil, or `coils` coils with maps; `change` edits the tensors before writing.
    private func file(coils: Int? = nil, target: Bool = true,
                      _ change: (inout [String: Tensor]) -> Void = { _ in }) throws -> String {
        let shape = coils.map { [$0, 4, 4] } ?? [4, 4]
        let n = shape.reduce(1, *)
        var t: [String: Tensor] = [
            "kspace_real": Tensor(shape: shape, data: plane(n, 0)), "kspace_imag": Tensor(shape: shape, data: plane(n, 1)),
            "mask": Tensor(shape: [4, 4], data: (0..<16).map { [1, 2].contains($0 % 4) ? 1 : 0 }),
        ]
        if coils != nil {
            t["coil_maps_real"] = Tensor(shape: shape, data: plane(n, 3))
            t["coil_maps_imag"] = Tensor(shape: shape, data: plane(n, 4))
        }
        if target { t["target"] = Tensor(shape: [4, 4], data: plane(16, 2).map(abs)) }
        change(&t)
        let path = dir.appendingPathComponent("m\(UUID().uuidString.prefix(8)).safetensors").path
        try SafeTensorsWriter.write(t.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, to: path)
        return path
    }

    private func assertBad(_ path: String, operatorName: String? = nil, _ needle: String, line: UInt = #line) {
        XCTAssertThrowsError(try MeasurementsFile(path: path, height: 4, width: 4, operatorName: operatorName),
                             line: line) { error in
            guard let e = error as? TweedieError, e.exitCode == 2 else { return XCTFail("not bad input: \(error)", line: line) }
            XCTAssert(e.description.contains(needle), "expected '\(needle)' in: \(e)", line: line)
        }
    }

    func testReadsSingleAndMultiCoilFiles() throws {
        let single = try MeasurementsFile(path: try file(), height: 4, width: 4, operatorName: nil)
        XCTAssertEqual(single.kind, .mri)
        XCTAssertEqual(single.kspace.shape, [4, 4])
        XCTAssertEqual(single.kspace.data[2], plane(16, 0)[1])
        XCTAssertEqual(single.kspace.data[3], plane(16, 1)[1])
        XCTAssertEqual(single.target?.shape, [1, 1, 4, 4])
        XCTAssertNil(single.maps)
        let multi = try MeasurementsFile(path: try file(coils: 2, target: false), height: 4, width: 4,
                                         operatorName: "mri-multicoil")
        XCTAssertEqual(multi.kind, .mriMulticoil)
        XCTAssertEqual(multi.maps?.shape, [2, 4, 4])
        XCTAssertNil(multi.target)
        // The operator reconstruct builds from it takes the measured k-space.
        let op = try OperatorSpec(kind: multi.kind).build(height: 4, width: 4, kspaceMask: multi.mask, coilMaps: multi.maps)
        XCTAssertEqual(op.adjoint(multi.kspace).shape, [4, 4])
    }

    func testBadFilesNameTheField() throws {
        assertBad(try file { $0["kspace_imag"] = nil }, "missing field 'kspace_imag'")
        assertBad(try file { $0["mask"] = nil }, "missing field 'mask'")
        assertBad(try file(coils: 2) { $0["coil_maps_imag"] = nil }, "missing field 'coil_maps_imag'")
        assertBad(try file { $0["mask"] = Tensor(shape: [2, 8], data: $0["mask"]!.data) }, "field 'mask' is [2, 8]")
        assertBad(try file { $0["mask"] = Tensor(shape: [4, 4], repeating: 0.5) }, "'mask' must hold only 0 and 1")
        assertBad(try file { $0["kspace_real"] = Tensor(shape: [1, 1, 4, 4], data: $0["kspace_real"]!.data) },
                  "'kspace_real' [1, 1, 4, 4]")
        assertBad(try file { $0["kspace_imag"] = Tensor(shape: [16, 1], repeating: 0) }, "'kspace_imag' [16, 1]")
        assertBad(try file { $0["target"] = Tensor(shape: [1, 16], repeating: 0) }, "field 'target' is [1, 16]")
        assertBad(try file(coils: 2) { $0["coil_maps_real"] = Tensor(shape: [1, 4, 4], repeating: 0) },
                  "'coil_maps_real' [1, 4, 4]")
        assertBad(try file(), operatorName: "mri-multicoil", "holds mri k-space")
        assertBad(try file(coils: 2), operatorName: "mri", "holds mri-multicoil k-space")
        let wrongDtype = dir.appendingPathComponent("i64.safetensors").path
        try SafeTensorsWriter.write([("kspace_real", Tensor(shape: [4, 4], repeating: 0)),
                                     ("kspace_imag", Tensor(shape: [4, 4], repeating: 0))],
                                    int64: [("mask", [Int64](repeating: 1, count: 16), [4, 4])], to: wrongDtype)
        assertBad(wrongDtype, "field 'mask' has dtype I64")
    }

    /// A NaN or infinity would pass through every solver and come out as a blank image: refused, with its place.
    func testNonFiniteValuesAreRefused() throws {
        assertBad(try file { $0["kspace_real"]!.data[5] = .nan }, "field 'kspace_real' holds nan at element 5")
        assertBad(try file { $0["kspace_imag"]!.data[0] = .infinity }, "field 'kspace_imag' holds inf at element 0")
        assertBad(try file { $0["mask"]!.data[3] = .nan }, "field 'mask' holds nan at element 3")
        assertBad(try file { $0["target"]!.data[15] = -.infinity }, "field 'target' holds -inf at element 15")
        assertBad(try file(coils: 2) { $0["coil_maps_real"]!.data[31] = .nan }, "field 'coil_maps_real' holds nan at element 31")
    }

    /// Zero coils: [0, H, W] k-space and maps hold no data at all, so there is nothing to reconstruct from.
    func testZeroCoilsAreRefused() throws {
        let empty = Tensor(shape: [0, 4, 4], data: [])
        let path = try file(coils: 2) { t in
            for k in ["kspace_real", "kspace_imag", "coil_maps_real", "coil_maps_imag"] { t[k] = empty }
        }
        assertBad(path, "with C >= 1")
    }
}
