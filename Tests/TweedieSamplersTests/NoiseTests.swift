import XCTest
import TweedieCore
import TweedieSamplers

final class NoiseTests: XCTestCase {
    /// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
    func testPhiloxKnownAnswers() {
        let cases: [((UInt32, UInt32, UInt32, UInt32), (UInt32, UInt32), [UInt32])] = [
            ((0, 0, 0, 0), (0, 0), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
            ((0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), (0xffff_ffff, 0xffff_ffff),
             [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
            ((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), (0xa409_3822, 0x299f_31d0),
             [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]),
        ]
        for (counter, key, expected) in cases {
            let r = Philox4x32.block(counter: counter, key: key)
            XCTAssertEqual([r.0, r.1, r.2, r.3], expected)
        }
    }

    /// Image i of a batch is image 0 of seed + i; purposes are separate streams; statistics are standard normal.
    func testPhiloxKeying() throws {
        let batch = try PhiloxNoise(seed: 100).normal(shape: [3, 2, 5, 5], purpose: .initial)
        let alone = try PhiloxNoise(seed: 102).normal(shape: [1, 2, 5, 5], purpose: .initial)
        XCTAssertEqual(Array(batch.data[100..<150]), alone.data)
        let offset = try PhiloxNoise(seed: 100, firstImage: 2).normal(shape: [1, 2, 5, 5], purpose: .initial)
        XCTAssertEqual(offset.data, alone.data)
        let step3 = try PhiloxNoise(seed: 100).normal(shape: [3, 2, 5, 5], purpose: .step(3))
        let step4 = try PhiloxNoise(seed: 100).normal(shape: [3, 2, 5, 5], purpose: .step(4))
        XCTAssertNotEqual(step3.data, batch.data)
        XCTAssertNotEqual(step3.data, step4.data)
        let big = try PhiloxNoise(seed: 7).normal(shape: [1, 200_000], purpose: .initial).data.map(Double.init)
        let mean = big.reduce(0, +) / Double(big.count)
        let variance = big.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(big.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(variance, 1, accuracy: 0.01)
    }

    /// torch.randn values, bit for bit, for both torch CPU kernels, single draws and sequences from one generator.
    func testTorchRandnMatchesTorch() throws {
        let root = try Fixture.json("torch_randn.json") as! [String: Any]
        for (kernelKey, kernel) in [("vectorized", TorchRandn.Kernel.vectorized), ("scalar", .scalar)] {
            let section = root[kernelKey] as! [String: Any]
            for case let c as [String: Any] in section["single"] as! [Any] {
                let seed = UInt64(truncating: c["seed"] as! NSNumber)
                let shape = Fixture.ints(c["shape"])
                let got = TorchRandn(seed: seed, kernel: kernel).randn(shape)
                XCTAssertEqual(got.shape, shape)
                XCTAssertEqual(got.data.map(\.bitPattern), Fixture.floats(c["values"]).map(\.bitPattern),
                               "\(kernelKey) seed \(seed) shape \(shape)")
            }
            for case let c as [String: Any] in section["sequences"] as! [Any] {
                let gen = TorchRandn(seed: UInt64(truncating: c["seed"] as! NSNumber), kernel: kernel)
                for (shape, values) in zip(c["shapes"] as! [Any], c["values"] as! [Any]) {
                    let got = try gen.normal(shape: Fixture.ints(shape), purpose: .initial)
                    XCTAssertEqual(got.data.map(\.bitPattern), Fixture.floats(values).map(\.bitPattern),
                                   "\(kernelKey) sequence draw \(Fixture.ints(shape))")
                }
            }
        }
    }

    func testReplayNoiseRunsOut() throws {
        let replay = ReplayNoise([Tensor(shape: [2], data: [1, 2])])
        XCTAssertEqual(try replay.normal(shape: [1, 2], purpose: .step(0)).data, [1, 2])
        XCTAssertThrowsError(try replay.normal(shape: [1, 2], purpose: .step(1)))
    }
}
