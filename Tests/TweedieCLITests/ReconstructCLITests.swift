import Foundation
import XCTest
import Tweedie

/// `tweedie reconstruct` as a user runs it: the report and the three PNGs, DDS on super-resolution against the
/// adjoint baseline with the bundled prior, and the bad inputs of issue 11, each a one-line error with exit 2 that
/// leaves nothing behind.
final class ReconstructCLITests: XCTestCase {
    private var prior: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("assets/phantom64").path
    }

    private func report(_ path: URL) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any])
    }

    func testWritesReportAndThreePNGs() throws {
        let dir = try GenerateTesting.tempDir(self)
        for (op, baseline) in [(["--operator", "mri", "--acceleration", "4"], "recon_zero_filled.png"),
                               (["--operator", "ct", "--views", "8"], "recon_adjoint.png")] {
            let out = dir.appendingPathComponent(op[1])
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            let r = try GenerateCLI.run(["reconstruct", "-m", prior, "--phantom", "shepp-logan"] + op
                                        + ["--method", "tikhonov", "--quiet", "--threads", "1",
                                           "-o", out.appendingPathComponent("recon.png").path])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(GenerateTesting.files(out), [baseline, "recon.png", "recon_error.png", "recon_report.json"].sorted())
            for png in ["recon.png", baseline, "recon_error.png"] {
                let image = try PNGImage.read(path: out.appendingPathComponent(png).path).image
                XCTAssertEqual([image.width, image.height], [64, 64], png)
            }
            let rep = try report(out.appendingPathComponent("recon_report.json"))
            for key in ["psnr", "ssim", "baseline_psnr", "baseline_ssim", "nfe", "wall_seconds"] {
                XCTAssertNotNil(rep[key] as? Double, "\(op[1]): report key \(key)")
            }
            let psnr = try XCTUnwrap(rep["psnr"] as? Double), ssim = try XCTUnwrap(rep["ssim"] as? Double)
            XCTAssertTrue(psnr.isFinite && psnr > 5 && ssim > 0 && ssim <= 1, "\(op[1]): psnr \(psnr) ssim \(ssim)")
            let settings = try XCTUnwrap(rep["settings"] as? [String: Any])
            XCTAssertFalse(settings.isEmpty)
        }
    }

    /// The SR operator's AᴴA is P/s², so DDS with an unscaled γ barely moved x̂0 and lost to the adjoint
    /// (16.4 against 22.0 dB in the first study); with γ·s² it wins clearly. Held-out Colin27 slice 0, σ_y 0.01:
    /// measured DDS 23.05 dB / SSIM 0.831 against the adjoint's 18.07 dB / 0.529 (phantom64 at step 11,400).
    func testDDSBeatsTheAdjointOnSuperResolution() throws {
        let dir = try GenerateTesting.tempDir(self)
        let r = try GenerateCLI.run(["reconstruct", "-m", prior, "--phantom", "colin27:0", "--operator", "sr",
                                     "--scale", "4", "--noise-sigma", "0.01", "--method", "dds", "--seed", "0",
                                     "--quiet", "--json", "--threads", "2",
                                     "-o", dir.appendingPathComponent("sr.png").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rep = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(XCTUnwrap(r.lines.last).utf8)) as? [String: Any])
        let (psnr, base) = (try XCTUnwrap(rep["psnr"] as? Double), try XCTUnwrap(rep["baseline_psnr"] as? Double))
        let (ssim, baseSSIM) = (try XCTUnwrap(rep["ssim"] as? Double), try XCTUnwrap(rep["baseline_ssim"] as? Double))
        XCTAssertTrue(psnr >= base + 4, "DDS \(psnr) dB against the adjoint's \(base) dB")
        XCTAssertTrue(ssim >= baseSSIM + 0.2, "DDS SSIM \(ssim) against the adjoint's \(baseSSIM)")
        let settings = try XCTUnwrap(rep["settings"] as? [String: Any])
        XCTAssertEqual(settings["gamma_effective"] as? Double, 16)
    }

    /// Writes a measurements file for the 64x64 prior: a mask of `maskShape` (I64 with `int64Mask`), without `drop`.
    private func measurements(_ dir: URL, _ name: String, mask maskShape: [Int] = [64, 64],
                              drop: String? = nil, int64Mask: Bool = false) throws -> String {
        let path = dir.appendingPathComponent(name).path
        var floats: [(String, Tensor)] = [("kspace_real", Tensor(shape: [64, 64], repeating: 0.1)),
                                          ("kspace_imag", Tensor(shape: [64, 64], repeating: 0))]
        var ints: [(String, [Int64], [Int])] = []
        let count = maskShape.reduce(1, *)
        if int64Mask {
            ints.append(("mask", [Int64](repeating: 1, count: count), maskShape))
        } else {
            floats.append(("mask", Tensor(shape: maskShape, repeating: 1)))
        }
        try SafeTensorsWriter.write(floats.filter { $0.0 != drop }, int64: ints.filter { $0.0 != drop }, to: path)
        return path
    }

    func testBadInputIsOneLineExitTwoAndWritesNothing() throws {
        let dir = try GenerateTesting.tempDir(self)
        let inputs = dir.appendingPathComponent("in"), out = dir.appendingPathComponent("out")
        for d in [inputs, out] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let cases: [(String, [String], String)] = [
            ("mask of the wrong shape",
             ["--measurements", try measurements(inputs, "mask32.safetensors", mask: [32, 32])], "'mask'"),
            ("acceleration that does not fit", ["--phantom", "shepp-logan", "--acceleration", "7"], "--acceleration 7"),
            ("poisson2d acceleration that does not fit",
             ["--phantom", "shepp-logan", "--mask", "poisson2d", "--acceleration", "5000"], "--acceleration 5000"),
            ("measurements missing a field",
             ["--measurements", try measurements(inputs, "nomask.safetensors", drop: "mask")], "missing field 'mask'"),
            ("measurements of the wrong dtype",
             ["--measurements", try measurements(inputs, "i64.safetensors", int64Mask: true)], "I64"),
            ("unknown operator", ["--phantom", "shepp-logan", "--operator", "mri-3d"], "--operator mri-3d"),
            ("zero views", ["--phantom", "shepp-logan", "--operator", "ct", "--views", "0"], "--views"),
        ]
        for (what, args, names) in cases {
            let r = try GenerateCLI.run(["reconstruct", "-m", prior] + args
                                        + ["--method", "zero-filled", "--threads", "1",
                                           "-o", out.appendingPathComponent("recon.png").path,
                                           "--report", out.appendingPathComponent("report.json").path])
            XCTAssertEqual(r.status, 2, "\(what): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(what): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("tweedie: error: ") && r.stderr.contains(names),
                          "\(what): expected one error naming \(names), got \(r.stderr)")
            XCTAssertEqual(GenerateTesting.files(out), [], "\(what): files left behind")
        }
    }
}
