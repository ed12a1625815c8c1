import TweedieCore
import TweedieOperators
import XCTest

/// The settings `tweedie reconstruct` passes through: bad values fail with the flag named, and measurement noise
/// really lands on (and only on) the measured entries.
final class OperatorSpecTests: XCTestCase {
    private func message(_ body: () throws -> Any) -> String? {
        do { _ = try body() } catch let e as TweedieError { return e.exitCode == 2 ? e.message : "exit \(e.exitCode)" } catch {
            return "\(error)"
        }
        return nil
    }

    func testBadSettingsNameTheirFlag() {
        XCTAssertEqual(message { try OperatorSpec.kind("mri2") }?.hasPrefix("--operator mri2: unknown operator"), true)
        var ct = OperatorSpec(kind: .ct)
        ct.views = 0
        XCTAssertEqual(message { try ct.build(height: 64, width: 64) }?.hasPrefix("--views"), true)
        var mri = OperatorSpec(kind: .mri)
        mri.acceleration = 16  // 4 columns, fewer than the 5-column ACS block
        XCTAssertEqual(message { try mri.build(height: 64, width: 64) }?.hasPrefix("--acceleration 16"), true)
        mri.acceleration = 3  // does not divide 64
        XCTAssertEqual(message { try mri.build(height: 64, width: 64) }?.hasPrefix("--acceleration 3"), true)
        mri.acceleration = 4
        mri.mask = "box"
        XCTAssertEqual(message { try mri.build(height: 64, width: 64) }?.hasPrefix("--mask box"), true)
        var sr = OperatorSpec(kind: .sr)
        sr.scale = 3
        XCTAssertEqual(message { try sr.build(height: 64, width: 64) }?.hasPrefix("--scale 3"), true)
        var blur = OperatorSpec(kind: .deblur)
        blur.kernel = "gaussian:40"
        XCTAssertEqual(message { try blur.build(height: 64, width: 64) }?.hasPrefix("--kernel"), true)
        var inpaint = OperatorSpec(kind: .inpaint)
        inpaint.missing = 1.5
        XCTAssertEqual(message { try inpaint.build(height: 64, width: 64) }?.hasPrefix("--missing"), true)
        XCTAssertTrue(CoilMapsValidation.fails())
    }

    func testEveryKindBuildsWithDefaults() throws {
        for kind in OperatorSpec.Kind.allCases {
            let op = try OperatorSpec(kind: kind).build(height: 32, width: 32)
            XCTAssertEqual(op.domainShape, [32, 32], "\(kind)")
            XCTAssertFalse(op.domainIsComplex, "\(kind)")
        }
    }

    func testMeasurementNoiseIsAddedOnMeasuredEntriesOnly() throws {
        let mask = try SamplingMask.make(.uniform1d, height: 64, width: 64, acceleration: 4, seed: 1)
        let op = MRIOperator(height: 64, width: 64, mask: mask)
        let y = op.apply(OpSupport.random(shape: [64, 64], complex: false, seed: 2))
        // Standard normals by Box-Muller from SplitMix64.
        var rng = SplitMix64(seed: 3)
        var n = Buffer(shape: y.shape, isComplex: true)
        for i in stride(from: 0, to: n.data.count, by: 2) {
            let (u, v) = (1 - rng.uniform(), rng.uniform())
            let r = (-2 * log(u)).squareRoot()
            (n.data[i], n.data[i + 1]) = (Float(r * cos(2 * .pi * v)), Float(r * sin(2 * .pi * v)))
        }
        let noisy = op.addNoise(to: y, sigma: 0.1, normals: n)
        var sum = 0.0, count = 0, unmeasuredMax: Float = 0
        for i in 0..<mask.count {
            let (dr, di) = (noisy.data[2 * i] - y.data[2 * i], noisy.data[2 * i + 1] - y.data[2 * i + 1])
            if mask[i] == 1 {
                sum += Double(dr * dr + di * di)
                count += 2
            } else {
                let v = abs(noisy.data[2 * i]) + abs(noisy.data[2 * i + 1])
                if !(v <= unmeasuredMax) { unmeasuredMax = v }  // keeps a NaN (Swift's max would drop it)
            }
        }
        let std = (sum / Double(count)).squareRoot()
        // 2048 measured values: the sample std of σ = 0.1 noise is within 5 % with overwhelming probability.
        XCTAssertTrue(abs(std - 0.1) <= 0.005, "noise std \(std)")
        XCTAssertTrue(unmeasuredMax == 0, "unmeasured k-space got noise: \(unmeasuredMax)")
    }
}

/// Coil maps of the wrong size are refused.
enum CoilMapsValidation {
    static func fails() -> Bool {
        (try? CoilMaps.validate(CoilMaps.birdcage(coils: 2, height: 16, width: 16), height: 32, width: 32, field: "maps")) == nil
    }
}
