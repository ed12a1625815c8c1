import XCTest
import TweedieCore

/// Which OpenBLAS kernel the CLI re-executes with: the best one for the CPU's flags when OpenBLAS fell back to a
/// generic kernel or gave an AVX-512 CPU its AVX2 kernel, nothing when it chose well or the user chose.
final class OpenBLASCoreGuardTests: XCTestCase {
    private let avx512: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl"]

    func testFallbackGetsTheBestKernelForTheFlags() {
        XCTAssertEqual(OpenBLASCoreGuard.recommendedCore(environment: [:], current: "Prescott", flags: avx512), "SkylakeX")
        XCTAssertEqual(OpenBLASCoreGuard.recommendedCore(environment: [:], current: "Prescott",
                                                         flags: avx512.union(["avx512_bf16"])), "Cooperlake")
        XCTAssertEqual(OpenBLASCoreGuard.recommendedCore(environment: [:], current: "Unknown", flags: ["avx", "avx2", "fma"]),
                       "Haswell")
    }

    func testAVX2KernelOnAnAVX512CPUIsUpgraded() {
        XCTAssertEqual(OpenBLASCoreGuard.recommendedCore(environment: [:], current: "Haswell", flags: avx512), "SkylakeX")
        XCTAssertEqual(OpenBLASCoreGuard.recommendedCore(environment: [:], current: "Zen",
                                                         flags: avx512.union(["avx512_bf16"])), "Cooperlake")
        // An AVX2-only AMD CPU keeps its kernel, and so does a CPU whose kernel already is the best.
        XCTAssertNil(OpenBLASCoreGuard.recommendedCore(environment: [:], current: "Zen", flags: ["avx", "avx2", "fma"]))
        XCTAssertNil(OpenBLASCoreGuard.recommendedCore(environment: [:], current: "SkylakeX", flags: avx512))
    }

    func testTheUsersChoiceAndARunningReexecWin() {
        XCTAssertNil(OpenBLASCoreGuard.recommendedCore(environment: ["OPENBLAS_CORETYPE": "Haswell"], current: "Haswell",
                                                       flags: avx512))
        XCTAssertNil(OpenBLASCoreGuard.recommendedCore(environment: ["TWEEDIE_OPENBLAS_REEXEC": "1"], current: "Prescott",
                                                       flags: avx512))
    }
}
