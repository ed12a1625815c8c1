import XCTest
import TweedieCore
import Foundation

final class ActivationTests: XCTestCase {
    /// Grid over [-12, 12] plus extremes, in a length that leaves a remainder after any vector width.
    private let inputs: Tensor = {
        var v = (0..<1003).map { Float($0) / 1002 * 24 - 12 }
        v += [0, -0.0, 1e-6, -1e-6, 30, -30, 90, -90, 200, -200]
        return Tensor(shape: [v.count], data: v)
    }()

    func testSilu() {
        let expected = inputs.data.map { v -> Double in let x = Double(v); return x / (1 + exp(-x)) }
        // Measured error/allowance 1.1e-02 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
        assertClose(silu(inputs), expected, shape: inputs.shape, relative: 6e-7, absolute: 6e-8, "silu")
    }

    func testExactGelu() {
        let expected = inputs.data.map { v -> Double in let x = Double(v); return 0.5 * x * erfc(-x / 2.0.squareRoot()) }
        // Measured error/allowance 1.7e-02 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
        assertClose(gelu(inputs), expected, shape: inputs.shape, relative: 9e-7, absolute: 9e-8, "gelu exact")
    }

    func testTanhGelu() {
        let expected = inputs.data.map { v -> Double in
            let x = Double(v)
            return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        }
        // Measured error/allowance 1.2e-02 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
        assertClose(gelu(inputs, approximate: true), expected, shape: inputs.shape, relative: 7e-7, absolute: 7e-8, "gelu tanh")
    }

    func testActivationsKeepShapeAndRunInParallelChunks() {
        let x = randomTensor([3, 50_000], seed: 1, range: 6)
        let y = silu(x)
        XCTAssertEqual(y.shape, [3, 50_000])
        for i in stride(from: 0, to: x.count, by: 997) {
            let v = Double(x.data[i])
            XCTAssertEqual(Double(y.data[i]), v / (1 + exp(-v)), accuracy: 1e-5 * abs(v) + 1e-6)
        }
    }

    /// The eight-lane bodies agree with the scalar tail bit for bit: every element of a 29-element tensor (three
    /// SIMD blocks and a tail of five) equals the same value computed alone (a one-element tensor takes the tail).
    func testVectorBodyMatchesScalarTail() {
        let values: [Float] = (0..<29).map { Float($0 - 14) * 0.77 + 0.013 }
        let x = Tensor(shape: [values.count], data: values)
        for (name, f) in [("silu", { silu($0) }), ("gelu tanh", { gelu($0, approximate: true) })] as [(String, (Tensor) -> Tensor)] {
            let all = f(x)
            for (i, v) in values.enumerated() {
                let alone = f(Tensor(shape: [1], data: [v])).data[0]
                XCTAssertEqual(all.data[i].bitPattern, alone.bitPattern, "\(name) at \(v)")
            }
        }
        // SiLU's backward: eight-lane body and scalar tail give the same bits, and match its formula in Double.
        let dy = Tensor(shape: [values.count], data: values.map { 0.3 - 0.05 * $0 })
        let all = siluBackward(gradOutput: dy, input: x)
        for (i, v) in values.enumerated() {
            let alone = siluBackward(gradOutput: Tensor(shape: [1], data: [dy.data[i]]), input: Tensor(shape: [1], data: [v]))
            XCTAssertEqual(all.data[i].bitPattern, alone.data[0].bitPattern, "silu backward at \(v)")
            let s = 1 / (1 + exp(-Double(v)))
            XCTAssertEqual(Double(all.data[i]), Double(dy.data[i]) * s * (1 + Double(v) * (1 - s)),
                           accuracy: 1e-6 * max(1, abs(Double(dy.data[i]))), "silu backward value at \(v)")
        }
    }
}
