import XCTest
import TweedieCore

final class NormTests: XCTestCase {
    /// Float64 normalisation of consecutive blocks of `block` elements; `channelOf(i)` picks the affine entry.
    private func normalise(_ x: Tensor, block: Int, eps: Double, weight: Tensor?, bias: Tensor?,
                           channelOf: (Int) -> Int) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        for start in stride(from: 0, to: x.count, by: block) {
            let v = (start..<(start + block)).map { Double(x.data[$0]) }
            let mean = v.reduce(0, +) / Double(block)
            let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(block)
            for i in 0..<block {
                let ch = channelOf(start + i)
                let w = weight.map { Double($0.data[ch]) } ?? 1, b = bias.map { Double($0.data[ch]) } ?? 0
                y[start + i] = (v[i] - mean) / (variance + eps).squareRoot() * w + b
            }
        }
        return y
    }

    private func checkGroupNorm(_ shape: [Int], groups: Int, affine: Bool, offset: Float = 0, seed: UInt64,
                                allowance: Double = 1, line: UInt = #line) {
        var x = randomTensor(shape, seed: seed)
        x.data = x.data.map { $0 + offset }
        let c = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
        let w = affine ? randomTensor([c], seed: seed + 1) : nil, b = affine ? randomTensor([c], seed: seed + 2) : nil
        let expected = normalise(x, block: c / groups * spatial, eps: 1e-5, weight: w, bias: b) { ($0 / spatial) % c }
        assertClose(groupNorm(x, groups: groups, weight: w, bias: b, eps: 1e-5), expected, shape: shape,
                    relative: 1e-5 * allowance, absolute: 1e-6 * allowance, "groupNorm \(shape) groups \(groups)",
                    line: line)
    }

    func testGroupNormGroupsOtherThanChannels() {
        // Measured error/allowance 4.7e-02 (worst of 5 OpenBLAS kernels).
        checkGroupNorm([2, 6, 3, 5], groups: 3, affine: true, seed: 1, allowance: 3e-1)
        // Measured error/allowance 2.6e-02 (worst of 5 OpenBLAS kernels).
        checkGroupNorm([2, 6, 3, 5], groups: 1, affine: true, seed: 2, allowance: 2e-1)
        // Measured error/allowance 3.6e-02 (worst of 5 OpenBLAS kernels).
        checkGroupNorm([1, 8, 4, 4], groups: 8, affine: false, seed: 3, allowance: 2e-1)
    }

    func testGroupNormOnRank3AndLargeGroups() {
        // Measured error/allowance 5.5e-02 (worst of 5 OpenBLAS kernels).
        checkGroupNorm([2, 4, 7], groups: 2, affine: true, seed: 4, allowance: 3e-1)
        // Measured error/allowance 1.6e-01 (worst of 5 OpenBLAS kernels).
        checkGroupNorm([2, 64, 16, 16], groups: 32, affine: true, seed: 5, allowance: 9e-1)
    }

    func testGroupNormIsStableUnderLargeOffset() {
        // A mean of 1000 against unit spread: one-pass E[x²] − E[x]² would lose most digits in Float32.
        // Measured error/allowance 4.5e-02 (worst of 5 OpenBLAS kernels).
        checkGroupNorm([1, 4, 8, 8], groups: 2, affine: true, offset: 1000, seed: 6, allowance: 3e-1)
    }

    func testLayerNorm() {
        for (shape, affine, seed) in [([2, 3, 7], true, UInt64(10)), ([5, 1000], true, 11), ([4, 33], false, 12)] {
            let d = shape.last!
            let x = randomTensor(shape, seed: seed)
            let w = affine ? randomTensor([d], seed: seed + 1) : nil, b = affine ? randomTensor([d], seed: seed + 2) : nil
            let expected = normalise(x, block: d, eps: 1e-6, weight: w, bias: b) { $0 % d }
            // Measured error/allowance 1.1e-01 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
            assertClose(layerNorm(x, weight: w, bias: b, eps: 1e-6), expected, shape: shape, relative: 6e-6, absolute: 6e-7, "layerNorm \(shape)")
        }
    }

    func testLayerNormWeightOnlyAndBiasOnly() {
        let x = randomTensor([3, 20], seed: 20), w = randomTensor([20], seed: 21), b = randomTensor([20], seed: 22)
        // Measured error/allowance 9.6e-03 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
        assertClose(layerNorm(x, weight: w, bias: nil, eps: 1e-5),
                    normalise(x, block: 20, eps: 1e-5, weight: w, bias: nil) { $0 % 20 }, shape: [3, 20], relative: 5e-7, absolute: 5e-8, "layerNorm weight only")
        // Measured error/allowance 5.3e-02 at relative 1e-5, absolute 1e-6 (worst of 5 OpenBLAS kernels).
        assertClose(layerNorm(x, weight: nil, bias: b, eps: 1e-5),
                    normalise(x, block: 20, eps: 1e-5, weight: nil, bias: b) { $0 % 20 }, shape: [3, 20], relative: 3e-6, absolute: 3e-7, "layerNorm bias only")
    }
}
