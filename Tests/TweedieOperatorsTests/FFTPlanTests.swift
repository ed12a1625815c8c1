import Dispatch
import TweedieOperators
import XCTest

/// Plans are made once per shape and shared; planning is serialised and execution is safe from many threads.
final class FFTPlanTests: XCTestCase {
    func testSharedPlanPerShape() {
        XCTAssertTrue(FFT2D.shared(height: 12, width: 10) === FFT2D.shared(height: 12, width: 10))
        XCTAssertFalse(FFT2D.shared(height: 12, width: 10) === FFT2D.shared(height: 10, width: 12))
    }

    func testConcurrentPlanningAndExecutionMatchSerial() {
        // 16 workers plan (first use of 4 new shapes, raced) and run centred transforms at once; every result must
        // equal the serial one bit for bit (the same plan, the same arithmetic).
        let shapes = [(18, 14), (22, 6), (9, 27), (30, 30)]
        let inputs = shapes.map { OpSupport.random(shape: [$0.0, $0.1], complex: true, seed: UInt64($0.0 * 100 + $0.1)) }
        func transform(_ k: Int) -> [Float] {
            let (h, w) = shapes[k]
            var out = inputs[k]
            out.data.withUnsafeMutableBufferPointer { p in
                FFT2D.shared(height: h, width: w).centered(UnsafePointer(p.baseAddress!), p.baseAddress!, inverse: false)
            }
            return out.data
        }
        var parallel = [[Float]](repeating: [], count: 16)
        parallel.withUnsafeMutableBufferPointer { slots in
            let s = slots
            DispatchQueue.concurrentPerform(iterations: 16) { i in s[i] = transform(i % shapes.count) }
        }
        for i in 0..<16 { XCTAssertEqual(OpSupport.mismatches(parallel[i], transform(i % shapes.count)), 0, "worker \(i)") }
    }
}
