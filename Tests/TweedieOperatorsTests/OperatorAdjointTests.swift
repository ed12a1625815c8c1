import TweedieOperators
import XCTest

/// Dot-product tests ⟨A x, y⟩ = ⟨x, Aᴴ y⟩ for every operator, relative to |⟨A x, y⟩| (float32 storage, Double
/// accumulation). The bound is 1e-5; each family's tolerance sits within ~10x of its measured maximum.
final class OperatorAdjointTests: XCTestCase {
    private func check(_ op: LinearOperator, _ name: String, tolerance: Double, seed: UInt64 = 1,
                       file: StaticString = #filePath, line: UInt = #line) {
        let err = OpSupport.adjointError(op, seed: seed)
        XCTAssertTrue(err <= min(tolerance, 1e-5), "\(name): adjoint error \(err)", file: file, line: line)
    }

    func testMRISingleCoil() throws {
        // measured <= 7.3e-7 (uniform1d x8, real image)
        for kind in SamplingMask.Kind.allCases {
            for acc in [4, 8] {
                let mask = try SamplingMask.make(kind, height: 64, width: 64, acceleration: acc, seed: 3)
                check(MRIOperator(height: 64, width: 64, mask: mask), "mri \(kind) x\(acc) real", tolerance: 5e-6)
                check(MRIOperator(height: 64, width: 64, mask: mask, complexImage: true), "mri \(kind) x\(acc) complex", tolerance: 5e-6)
            }
        }
        // Odd sizes exercise the shift conventions.
        check(MRIOperator(height: 15, width: 9, mask: [Float](repeating: 1, count: 135), complexImage: true), "mri 15x9", tolerance: 5e-6)
    }

    func testMRIMultiCoil() throws {
        // measured 4.1e-7 (real image), 2.6e-7 (complex)
        let mask = try SamplingMask.make(.uniform1d, height: 64, width: 64, acceleration: 8, seed: 3)
        let maps = CoilMaps.birdcage(coils: 4, height: 64, width: 64)
        check(MulticoilMRIOperator(maps: maps, mask: mask), "multicoil real", tolerance: 4e-6)
        check(MulticoilMRIOperator(maps: maps, mask: mask, complexImage: true), "multicoil complex", tolerance: 4e-6)
    }

    func testCT() throws {
        // measured <= 3.8e-8
        for views in [8, 16, 180] {
            check(try ParallelBeamCT(height: 64, width: 64, views: views), "ct \(views) views", tolerance: 4e-7)
        }
        check(try ParallelBeamCT(height: 20, width: 33, views: 7), "ct 20x33", tolerance: 4e-7)
    }

    func testBlurSuperResolutionInpainting() throws {
        // measured: gaussian 3.4e-6 (σ 3 leaves a small ⟨A x, y⟩ beside float32 FFT rounding of x), motion 4.7e-8,
        // sr 4.3e-8, inpainting 0
        check(try BlurOperator(height: 64, width: 64, kernel: .gaussian(sigma: 3)), "gaussian blur", tolerance: 1e-5)
        check(try BlurOperator(height: 64, width: 48, kernel: .motion(length: 9, angleDegrees: 30)), "motion blur", tolerance: 5e-7)
        for s in [2, 4] { check(try DownsampleOperator(height: 64, width: 64, factor: s), "sr x\(s)", tolerance: 5e-7) }
        for kind in InpaintOperator.Kind.allCases {
            let mask = try InpaintOperator.mask(kind, height: 64, width: 64, missing: 0.5, seed: 2)
            check(InpaintOperator(height: 64, width: 64, mask: mask), "inpaint \(kind)", tolerance: 1e-7)
        }
    }
}
