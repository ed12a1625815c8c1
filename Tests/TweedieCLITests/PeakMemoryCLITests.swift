import Foundation
import XCTest
import Tweedie

/// Peak RSS is the program's own: a large parent does not leak into a child's figure (getrusage's ru_maxrss carries
/// the parent's high-water mark across fork and exec; PeakMemory reads VmHWM).
final class PeakMemoryCLITests: XCTestCase {
    func testChildReportsItsOwnPeakNotItsParents() throws {
        #if os(Linux)
        let size = 256 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { block.deallocate() }
        for i in stride(from: 0, to: size, by: 4096) { block.storeBytes(of: 1, toByteOffset: i, as: UInt8.self) }
        XCTAssertGreaterThan(PeakMemory.megabytes, 256, "this process's own peak")
        let r = try GenerateCLI.run(["bench", "--model", GenerateCLI.fixture("unet_cond"), "--iters", "1", "--warmup",
                                     "0", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let child = try XCTUnwrap(object?["peak_rss_mb"] as? Double)
        // A tiny fixture: tens of MB of runtime and weights, far below the parent's 256 MB.
        XCTAssertLessThan(child, 150, "the child's peak RSS must not include its parent's")
        #endif
    }
}
