import XCTest
import TweedieCore

final class ModulationTests: XCTestCase {
    func testChannelBiasPerSampleAndShared() {
        let (n, c, h, w) = (2, 3, 2, 5)
        let x = randomTensor([n, c, h, w], seed: 1)
        let perSample = randomTensor([n, c], seed: 2), shared = randomTensor([c], seed: 3)
        let y1 = addChannelBias(x, perSample), y2 = addChannelBias(x, shared)
        XCTAssertEqual(y1.shape, x.shape)
        for i in 0..<x.count {
            let plane = i / (h * w)
            XCTAssertEqual(y1.data[i], x.data[i] + perSample.data[plane])
            XCTAssertEqual(y2.data[i], x.data[i] + shared.data[plane % c])
        }
    }

    func testModulateAndGate() {
        let (n, l, c) = (2, 4, 6)
        let x = randomTensor([n, l, c], seed: 4)
        let shift = randomTensor([n, c], seed: 5), s = randomTensor([n, c], seed: 6), g = randomTensor([n, c], seed: 7)
        let modulated = modulate(x, shift: shift, scale: s)
        let gated = gate(x, g)
        var expectedModulated = [Double](), expectedGated = [Double]()
        for b in 0..<n { for t in 0..<l { for ch in 0..<c {
            let v = Double(x.data[(b * l + t) * c + ch])
            expectedModulated.append(v * (1 + Double(s.data[b * c + ch])) + Double(shift.data[b * c + ch]))
            expectedGated.append(v * Double(g.data[b * c + ch]))
        } } }
        // Measured error/allowance 1.6e-02 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
        assertClose(modulated, expectedModulated, shape: [n, l, c], relative: 9e-7, absolute: 9e-8, "modulate")
        // Measured error/allowance 3.2e-03 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
        assertClose(gated, expectedGated, shape: [n, l, c], relative: 2e-7, absolute: 2e-8, "gate")
    }
}
