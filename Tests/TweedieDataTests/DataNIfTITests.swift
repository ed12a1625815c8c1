import Foundation
import TweedieCore
import TweedieData
import XCTest

final class DataNIfTITests: XCTestCase {
    /// A single-file NIfTI-1 image built field by field (offsets from nifti1.h).
    static func nifti(dims: [Int], datatype: Int, bitpix: Int, payload: [UInt8], littleEndian: Bool = true,
                      slope: Float = 0, intercept: Float = 0, voxOffset: Float = 352, magic: String = "n+1",
                      sizeofHdr: Int32 = 348) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 352)
        func put<T: FixedWidthInteger>(_ v: T, _ o: Int) {
            let bytes = withUnsafeBytes(of: littleEndian ? v.littleEndian : v.bigEndian) { Array($0) }
            h.replaceSubrange(o..<o + bytes.count, with: bytes)
        }
        put(sizeofHdr, 0)
        put(Int16(dims.count), 40)
        for (k, d) in dims.enumerated() { put(Int16(d), 42 + 2 * k) }
        put(Int16(datatype), 70)
        put(Int16(bitpix), 72)
        for k in 0..<dims.count { put(Float(k + 1).bitPattern, 80 + 4 * k) }
        put(voxOffset.bitPattern, 108)
        put(slope.bitPattern, 112)
        put(intercept.bitPattern, 116)
        h.replaceSubrange(148..<152, with: Array("test".utf8))
        h.replaceSubrange(344..<344 + magic.utf8.count, with: Array(magic.utf8))
        return h + payload
    }

    func testLittleEndianInt16WithScaling() throws {
        // x fastest: dims (x 2, y 3, z 4) -> volume [4, 3, 2]; voxel value = index - 5.
        let values = (0..<24).map { Int16($0 - 5) }
        let payload = values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        let image = try NIfTIImage(bytes: Self.nifti(dims: [2, 3, 4], datatype: 4, bitpix: 16, payload: payload,
                                                     slope: 2, intercept: 1), path: "t.nii")
        XCTAssertTrue(image.header.littleEndian)
        XCTAssertEqual(image.header.dimensions, [2, 3, 4])
        XCTAssertEqual(image.header.spacing, [1, 2, 3])
        XCTAssertEqual(image.header.descriptionText, "test")
        XCTAssertEqual(image.volume.shape, [4, 3, 2])
        XCTAssertEqual(image.volume.data, values.map { Float($0) * 2 + 1 })
    }

    func testBigEndianFloat32AndFloat64AndGzip() throws {
        let values: [Float] = [0.5, -1.25, 3e10, 7]
        let be = values.flatMap { v in withUnsafeBytes(of: v.bitPattern.bigEndian) { Array($0) } }
        let image = try NIfTIImage(bytes: Self.nifti(dims: [4], datatype: 16, bitpix: 32, payload: be,
                                                     littleEndian: false), path: "be.nii")
        XCTAssertFalse(image.header.littleEndian)
        XCTAssertEqual(image.volume.shape, [1, 1, 4])
        XCTAssertEqual(image.volume.data, values)
        let doubles: [Double] = [1.5, -2, 1e-3]
        let le = doubles.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        let dir = try DataSupport.tempDirectory()
        let path = try DataSupport.write(DataSupport.storedGzip(Self.nifti(dims: [1, 3], datatype: 64, bitpix: 64,
                                                                           payload: le)),
                                         to: dir, name: "d.nii.gz")
        let gz = try NIfTIImage.read(path)
        XCTAssertEqual(gz.volume.shape, [1, 3, 1])
        XCTAssertEqual(gz.volume.data, doubles.map(Float.init))
    }

    func testCorruptHeadersNameTheField() {
        func message(_ bytes: [UInt8]) -> String { DataSupport.errorMessage { _ = try NIfTIImage(bytes: bytes, path: "/v.nii") } }
        let ok = (2, [UInt8](repeating: 9, count: 8))
        XCTAssertTrue(message(Self.nifti(dims: [8], datatype: ok.0, bitpix: 8, payload: ok.1, sizeofHdr: 540))
            .hasPrefix("/v.nii: NIfTI sizeof_hdr"))
        XCTAssertTrue(message(Self.nifti(dims: [8], datatype: 128, bitpix: 24, payload: ok.1)).contains("NIfTI datatype: 128"))
        XCTAssertTrue(message(Self.nifti(dims: [8], datatype: 2, bitpix: 16, payload: ok.1)).contains("NIfTI bitpix"))
        XCTAssertTrue(message(Self.nifti(dims: [9], datatype: 2, bitpix: 8, payload: ok.1)).contains("NIfTI data"))
        XCTAssertTrue(message(Self.nifti(dims: [8], datatype: 2, bitpix: 8, payload: ok.1, magic: "ni1")).contains("NIfTI magic"))
        XCTAssertTrue(message(Self.nifti(dims: [8], datatype: 2, bitpix: 8, payload: ok.1, voxOffset: 100)).contains("vox_offset"))
        XCTAssertTrue(message(Self.nifti(dims: [8, 0], datatype: 2, bitpix: 8, payload: ok.1)).contains("NIfTI dim[2]"))
        XCTAssertTrue(message(Array(repeating: 0, count: 100)).contains("sizeof_hdr"))
    }

    /// ch2 read once for the tests that need it (decompressing 7 MB is the slow part of a debug run).
    private static let ch2 = Result { try NIfTIImage.read(Colin27.defaultPath) }

    func testColin27HeaderAndVoxels() throws {
        try DataSupport.require(Colin27.defaultPath, package: Colin27.package)
        let image = try Self.ch2.get()
        XCTAssertEqual(image.header.dimensions, [181, 217, 181])
        XCTAssertEqual(image.header.datatype, 2)
        XCTAssertEqual(image.header.spacing, [1, 1, 1])
        XCTAssertEqual(image.volume.shape, Colin27.expectedShape)
        // Reference voxels read with numpy from the same file ([z, y, x]).
        XCTAssertEqual(image.volume.data[(90 * 217 + 108) * 181 + 90], 33)
        XCTAssertEqual(image.volume.data[(60 * 217 + 100) * 181 + 50], 119)
        XCTAssertEqual(image.volume.data[(120 * 217 + 150) * 181 + 100], 92)
        let range = Colin27.normalisationRange(image.volume)
        XCTAssertEqual(range.low, 0)  // numpy.percentile(volume, [0.5, 99.5]) = [0, 178]
        XCTAssertEqual(range.high, 178)
    }

    func testColin27SplitIsDisjointWithAGap() {
        XCTAssertEqual(Colin27.trainingSlices.count, 91)
        XCTAssertTrue(Set(Colin27.trainingSlices).isDisjoint(with: Colin27.heldOutSlices))
        for z in Colin27.trainingSlices {
            XCTAssertTrue(Colin27.heldOutSlices.allSatisfy { abs($0 - z) > Colin27.exclusionRadius }, "slice \(z)")
        }
        XCTAssertTrue(Set(Colin27.heldOutSlices + Colin27.trainingSlices).isSubset(of: Colin27.sliceIndices))
        XCTAssertEqual(Colin27.Split.heldOut.slices, Colin27.heldOutSlices)
    }

    func testColin27Slices() throws {
        try DataSupport.require(Colin27.defaultPath, package: Colin27.package)
        let volume = try Self.ch2.get().volume
        let range = Colin27.normalisationRange(volume)
        let held = Colin27.slices(Colin27.heldOutSlices, of: volume, range: range)
        XCTAssertEqual(held.shape, [7, 1, 64, 64])
        XCTAssertTrue(held.data.allSatisfy { $0 >= 0 && $0 <= 1 })
        for n in 0..<7 {
            let s = held.data[(n * 4096)..<((n + 1) * 4096)]
            let mean = s.reduce(0, +) / 4096
            XCTAssertTrue((0.1...0.7).contains(mean), "held-out slice \(n) mean \(mean)")
            XCTAssertEqual(s[s.startIndex], 0)  // corner is background
        }
        // Slice 90 alone equals its row in the batch (per-volume normalisation, no batch dependence).
        XCTAssertEqual(Colin27.slices([90], of: volume, range: range).data, Array(held.data[(3 * 4096)..<(4 * 4096)]))
    }

    func testMissingVolumeNamesThePackage() throws {
        let dir = try DataSupport.tempDirectory()
        let m = DataSupport.errorMessage { _ = try Colin27.loadVolume(path: dir + "/ch2.nii.gz") }
        XCTAssertTrue(m.contains("apt-get install mricron-data"), m)
        // A NIfTI of another grid is refused with the dims named.
        let other = try DataSupport.write(Self.nifti(dims: [2, 2, 2], datatype: 2, bitpix: 8, payload: Array(repeating: 1, count: 8)),
                                          to: dir, name: "small.nii")
        let m2 = DataSupport.errorMessage { _ = try Colin27.loadVolume(path: other) }
        XCTAssertTrue(m2.hasPrefix(other + ": NIfTI dim") && m2.contains("[2, 2, 2]"), m2)
    }
}
