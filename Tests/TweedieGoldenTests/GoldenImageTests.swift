import Foundation
import XCTest
import TweedieTestSupport
import Tweedie

/// Golden-image regression tests: every golden of Goldens/manifest.json (model x sampler x guidance, fixed seeds,
/// few steps) is re-run through `ImageGenerator` and compared with its stored PNGs and samples within the
/// tolerances of `GoldenDiff`. With TWEEDIE_UPDATE_GOLDENS=1 (scripts/update-goldens) `testUpdateGoldens` re-runs
/// them all and rewrites them only if none moved beyond tolerance (or the moves are accepted), see `GoldenUpdate`;
/// TWEEDIE_GOLDEN_THREADS=N runs at N threads; TWEEDIE_GOLDEN_VERBOSE=1 prints every golden's drift.
///
/// Tolerances and the measured drift across OpenBLAS kernels: see `GoldenDiff`.
final class GoldenImageTests: XCTestCase {
    static var updating: Bool { ProcessInfo.processInfo.environment["TWEEDIE_UPDATE_GOLDENS"] == "1" }

    private static var savedThreads = Runtime.threads

    override class func setUp() {
        super.setUp()
        savedThreads = Runtime.threads
        if let t = ProcessInfo.processInfo.environment["TWEEDIE_GOLDEN_THREADS"].flatMap(Int.init) {
            Runtime.threads = t
        }
    }

    override class func tearDown() {
        Runtime.threads = savedThreads
        super.tearDown()
    }

    // One test per guidance mode keeps each well under 20 s; together they cover the whole manifest.
    func testGoldensWithoutGuidance() throws { try checkGoldens(guidance: "none") }
    func testGoldensWithCFG() throws { try checkGoldens(guidance: "cfg") }
    func testGoldensWithAPG() throws { try checkGoldens(guidance: "apg") }

    /// The update mode: all goldens at once, so that one regression anywhere stops every write.
    func testUpdateGoldens() throws {
        guard GoldenImageTests.updating else { return }
        try GoldenUpdate.update(try GoldenManifest.cases())
    }

    func testEveryGoldenHasAGuidanceTest() throws {
        XCTAssertTrue(try GoldenManifest.cases().allSatisfy { ["none", "cfg", "apg"].contains($0.guidance) })
    }

    /// Compares (or, when updating, rewrites) every golden of the manifest with guidance `guidance`.
    private func checkGoldens(guidance: String) throws {
        let all = try GoldenManifest.cases().filter { $0.guidance == guidance }
        if GoldenImageTests.updating { return }
        let goldens = all.filter(\.runnable)
        if goldens.count < all.count {
            print("goldens (\(guidance)): \(all.count - goldens.count) BF16 golden(s) not run: this CPU has no "
                  + "oneDNN BF16 convolution")
        }
        var worst: (image: (Int, String), psnr: (Double, String), tensor: (Float, String)) =
            ((0, "-"), (.infinity, "-"), (0, "-"))
        for g in goldens {
            let run = try GoldenRun.produce(g)
            guard let stored = try GoldenStore.read(g) else {
                XCTFail("\(g.id): no stored golden in Goldens/; run scripts/update-goldens")
                continue
            }
            let d = try GoldenDiff(run, against: stored, limits: GoldenDiff.limits(g))
            XCTAssertTrue(d.passes, "\(g.id): \(d.summary), limits \(d.limits.image)/255 and "
                          + "\(d.limits.psnr) dB; image 0 is `tweedie "
                          + g.generateArguments(image: 0).joined(separator: " ")
                          + "`; if the change is intended, run scripts/update-goldens")
            recordMeasured(Double(d.tensorMaxAbs / d.tensorTolerance), tolerance: 1, "golden \(g.id): tensor")
            recordMeasured(Double(d.imageMaxAbs), tolerance: Double(d.limits.image), "golden \(g.id): image")
            recordMeasured(-d.psnr, tolerance: -d.limits.psnr, "golden \(g.id): -PSNR")
            if ProcessInfo.processInfo.environment["TWEEDIE_GOLDEN_VERBOSE"] == "1" {
                print("golden \(g.id): \(d.summary), samples max abs "
                      + String(format: "%.2f", stored.samples.maxAbs))
            }
            if d.imageMaxAbs > worst.image.0 { worst.image = (d.imageMaxAbs, g.id) }
            if d.psnr < worst.psnr.0 { worst.psnr = (d.psnr, g.id) }
            if d.tensorMaxAbs > worst.tensor.0 { worst.tensor = (d.tensorMaxAbs, g.id) }
        }
        print("goldens (\(guidance)): \(goldens.count) compared at \(GoldenUpdate.machine): worst image max abs "
              + "\(worst.image.0)/255 (\(worst.image.1)), lowest PSNR "
              + (worst.psnr.0.isInfinite ? "inf" : String(format: "%.1f", worst.psnr.0)) + " dB (\(worst.psnr.1)), "
              + "worst tensor max abs " + String(format: "%.2e", worst.tensor.0) + " (\(worst.tensor.1))")
    }

    /// Every model gets every built-in sampler, and every guidance mode it supports (none only without a null class).
    func testManifestCoversEverySamplerAndGuidance() throws {
        let entries = try GoldenManifest.entries()
        XCTAssertFalse(entries.isEmpty)
        for e in entries {
            // A Float32 entry covers every sampler; a BF16 entry (the same model again) a few of them.
            if e.precision == nil {
                XCTAssertEqual(Set(e.samplers), Set(SamplerRegistry.builtInNames), e.model)
            } else {
                XCTAssertEqual(e.precision, ComputePrecision.bfloat16.rawValue, e.model)
                XCTAssertTrue(Set(e.samplers).isSubset(of: SamplerRegistry.builtInNames), e.model)
                XCTAssertTrue(entries.contains { $0.model == e.model && $0.precision == nil }, e.model)
            }
            let pipeline = try GoldenRun.pipeline(e)
            let guided = pipeline.classes.isConditional && pipeline.classes.nullClass != nil
            XCTAssertEqual(Set(e.guidance), guided ? Set(GenerationSettings.guidanceNames) : ["none"], e.model)
            XCTAssertEqual(e.classes != nil, pipeline.classes.isConditional, "\(e.model): classes vs conditioning")
        }
        XCTAssertGreaterThanOrEqual(try GoldenManifest.cases().count, 24)
    }

    /// The stored files stay small and every one belongs to a golden of the manifest.
    func testStoredGoldensAreSmallAndAllListed() throws {
        let goldens = try GoldenManifest.cases()
        if GoldenImageTests.updating { try GoldenUpdate.removeStrays(goldens) }
        XCTAssertEqual(try GoldenStore.strays(goldens), [], "run scripts/update-goldens to remove them")
        var bytes = 0
        // A missing file counts as empty here; the comparison tests report it.
        for f in goldens.flatMap(\.files) {
            bytes += (try? FileManager.default.attributesOfItem(atPath: GoldenStore.url(f).path))?[.size] as? Int ?? 0
        }
        // 3.69 MB with 16 samplers x 4 models, 3.96 MB with fashion32's 9 BF16 goldens.
        XCTAssertLessThan(bytes, 4_500_000, "Goldens/ holds \(bytes) bytes")
    }
}
