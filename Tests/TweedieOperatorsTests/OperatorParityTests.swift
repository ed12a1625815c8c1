import TweedieCore
import TweedieImaging
import TweedieOperators
import XCTest

/// Every operator against the independent numpy / scipy / scikit-image implementation in
/// scripts/make_operator_fixtures.py (committed fixture; Python is not needed to run these). Errors are
/// max |swift − reference| / max |reference|; tolerances sit within ~10x of the measured values in the comments.
final class OperatorParityTests: XCTestCase {
    private func assertClose(_ err: Double, _ tol: Double, _ what: String, file: StaticString = #filePath,
                             line: UInt = #line) {
        XCTAssertTrue(err <= tol, "\(what): relative error \(err) above \(tol)", file: file, line: line)
    }

    func testCenteredFFTMatchesNumpy() throws {
        // measured 1.5e-7 (24x20 and 15x9, both directions)
        let f = try OpSupport.fixture()
        for name in ["fft_even", "fft_odd"] {
            let x = try OpSupport.complex(f, name + "_x")
            let (h, w) = (x.shape[0], x.shape[1])
            let fft = FFT2D.shared(height: h, width: w)
            for (inverse, ref) in [(false, "_fwd"), (true, "_inv")] {
                var out = x
                out.data.withUnsafeMutableBufferPointer { p in
                    fft.centered(UnsafePointer(p.baseAddress!), p.baseAddress!, inverse: inverse)
                }
                assertClose(OpSupport.relativeError(out, try OpSupport.complex(f, name + ref)), 1.5e-6, name + ref)
            }
        }
    }

    func testMasksMatchNumpyBitForBit() throws {
        let f = try OpSupport.fixture()
        for kind in SamplingMask.Kind.allCases {
            for acc in [4, 8] {
                let mask = try SamplingMask.make(kind, height: 32, width: 32, acceleration: acc, seed: 7)
                let ref = try f.tensor("mask_\(kind.rawValue)_x\(acc)").data
                XCTAssertEqual(OpSupport.mismatches(mask, ref), 0, "\(kind) x\(acc)")
                // The acceleration is exact.
                XCTAssertEqual(Int(mask.reduce(0, +)), 32 * 32 / acc, "\(kind) x\(acc) sample count")
            }
        }
        for (kind, missing) in [(InpaintOperator.Kind.box, 0.25), (.random, 0.5)] {
            let mask = try InpaintOperator.mask(kind, height: 32, width: 32, missing: missing, seed: 5)
            XCTAssertEqual(OpSupport.mismatches(mask, try f.tensor("inpaint_\(kind.rawValue)").data), 0, "\(kind)")
        }
    }

    func testSingleCoilMRIMatchesNumpy() throws {
        // measured <= 2.5e-8 (forward), <= 2.1e-7 (adjoint)
        let f = try OpSupport.fixture()
        let x = try OpSupport.real(f, "image")
        for kind in SamplingMask.Kind.allCases {
            for acc in [4, 8] {
                let name = "\(kind.rawValue)_x\(acc)"
                let op = MRIOperator(height: 32, width: 32, mask: try f.tensor("mask_" + name).data)
                let y = op.apply(x)
                assertClose(OpSupport.relativeError(y, try OpSupport.complex(f, "mri_\(name)_y")), 3e-7, name)
                assertClose(OpSupport.relativeError(op.adjoint(y), try OpSupport.real(f, "mri_\(name)_adj")), 2e-6,
                            name + " adjoint")
            }
        }
    }

    func testMultiCoilMRIMatchesNumpy() throws {
        // measured: maps 6.5e-8, forward 1.1e-7, adjoint 1.1e-7
        let f = try OpSupport.fixture()
        let maps = CoilMaps.birdcage(coils: 4, height: 32, width: 32)
        assertClose(OpSupport.relativeError(maps, try OpSupport.complex(f, "maps").reshaped([4, 32, 32])), 7e-7, "maps")
        let op = MulticoilMRIOperator(maps: try OpSupport.complex(f, "maps"), mask: try f.tensor("mask_uniform1d_x4").data,
                                      complexImage: true)
        let x = try OpSupport.real(f, "image").complexified()
        assertClose(OpSupport.relativeError(op.apply(x), try OpSupport.complex(f, "mc_y")), 1.2e-6, "forward")
        assertClose(OpSupport.relativeError(op.adjoint(try OpSupport.complex(f, "mc_k")), try OpSupport.complex(f, "mc_adj")),
                    1.2e-6, "adjoint")
    }

    func testCTMatchesSkimageRadon() throws {
        // measured: forward 5.4e-8 (8 and 30 views); adjoint (transpose of radon's matrix) 4.9e-8
        let f = try OpSupport.fixture()
        let x = try OpSupport.real(f, "image")
        for views in [8, 30] {
            let op = try ParallelBeamCT(height: 32, width: 32, views: views)
            let ref = try OpSupport.real(f, "ct\(views)_sino")
            XCTAssertEqual(op.rangeShape, ref.shape)
            assertClose(OpSupport.relativeError(op.apply(x), ref), 5e-7, "radon \(views) views")
        }
        let op = try ParallelBeamCT(height: 32, width: 32, views: 8)
        assertClose(OpSupport.relativeError(op.adjoint(try OpSupport.real(f, "ct8_y")), try OpSupport.real(f, "ct8_adj")),
                    5e-7, "back-projection")
    }

    func testBlurMatchesScipy() throws {
        // measured: kernels 0, gaussian 2.1e-7 / 2.1e-7, motion 1.9e-7 / 1.9e-7 (forward / adjoint)
        let f = try OpSupport.fixture()
        let x = try OpSupport.real(f, "image")
        for (name, kernel) in [("gauss", BlurKernel.gaussian(sigma: 2)), ("motion", .motion(length: 7, angleDegrees: 30))] {
            assertClose(OpSupport.relativeError(kernel.weights, try f.tensor("blur_\(name)_kernel").data), 1e-7, name + " kernel")
            let op = try BlurOperator(height: 32, width: 32, kernel: kernel)
            assertClose(OpSupport.relativeError(op.apply(x), try OpSupport.real(f, "blur_\(name)_y")), 2e-6, name)
            assertClose(OpSupport.relativeError(op.adjoint(x), try OpSupport.real(f, "blur_\(name)_adj")), 2e-6, name + " adjoint")
        }
    }

    func testSuperResolutionMatchesNumpy() throws {
        // measured 8.8e-8 / 0 (forward / adjoint)
        let f = try OpSupport.fixture()
        let x = try OpSupport.real(f, "image")
        for s in [2, 4] {
            let op = try DownsampleOperator(height: 32, width: 32, factor: s)
            assertClose(OpSupport.relativeError(op.apply(x), try OpSupport.real(f, "sr\(s)_y")), 1e-6, "sr x\(s)")
            assertClose(OpSupport.relativeError(op.adjoint(try OpSupport.real(f, "sr\(s)_low")), try OpSupport.real(f, "sr\(s)_adj")),
                        1e-7, "sr x\(s) adjoint")
        }
    }

    func testSSIMMatchesSkimage() throws {
        // The reconstruct report's SSIM (ImageMetrics.ssim, data range 1) on a blurred image; measured 8.6e-9
        // absolute against skimage.metrics.structural_similarity (the reference is stored as float32).
        let f = try OpSupport.fixture()
        let (a, b) = (try f.tensor("ssim_a"), try f.tensor("ssim_b"))
        let ssim = try ImageMetrics.ssim(b, a, dataRange: 1)
        let err = abs(ssim - Double(try f.tensor("ssim_value").data[0]))
        XCTAssertTrue(err <= 1e-7, "SSIM \(ssim): error \(err)")
    }
}
