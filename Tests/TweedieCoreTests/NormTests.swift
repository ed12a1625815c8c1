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
                                line: UInt = #line) {
        var x = randomTensor(shape, seed: seed)
        x.data = x.data.map { $0 + offset }
        let c = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
        let w = affine ? randomTensor([c], seed: seed + 1) : nil, b = affine ? randomTensor([c], seed: seed + 2) : nil
        let expected = normalise(x, block: c / groups * spatial, eps: 1e-5, weight: w, bias: b) { ($0 / spatial) % c }
        assertClose(groupNorm(x, groups: groups, weight: w, bias: b, eps: 1e-5), expected, shape: shape, "groupNorm \(shape) groups \(groups)", line: line)
    }

    func testGroupNormGroupsOtherThanChannels() {
        checkGroupNorm([2, 6, 3, 5], groups: 3, affine: true, seed: 1)
        checkGroupNorm([2, 6, 3, 5], groups: 1, affine: true, seed: 2)
        checkGroupNorm([1, 8, 4, 4], groups: 8, affine: false, seed: 3)
    }

    func testGroupNormOnRank3AndLargeGroups() {
        checkGroupNorm([2, 4, 7], groups: 2, affine: true, seed: 4)
        checkGroupNorm([2, 64, 16, 16], groups: 32, affine: true, seed: 5)
    }

    func testGroupNormIsStableUnderLargeOffset() {
        // A mean of 1000 against unit spread: one-pass E[x²] − E[x]² would lose most digits in Float32.
        checkGroupNorm([1, 4, 8, 8], groups: 2, affine: true, offset: 1000, seed: 6)
    }

    func testLayerNorm() {
        for (shape, affine, seed) in [([2, 3, 7], true, UInt64(10)), ([5, 1000], true, 11), ([4, 33], false, 12)] {
            let d = shape.last!
            let x = randomTensor(shape, seed: seed)
            let w = affine ? randomTensor([d], seed: seed + 1) : nil, b = affine ? randomTensor([d], seed: seed + 2) : nil
            let expected = normalise(x, block: d, eps: 1e-6, weight: w, bias: b) { $0 % d }
            assertClose(layerNorm(x, weight: w, bias: b, eps: 1e-6), expected, shape: shape, "layerNorm \(shape)")
        }
    }

    func testLayerNormWeightOnlyAndBiasOnly() {
        let x = randomTensor([3, 20], seed: 20), w = randomTensor([20], seed: 21), b = randomTensor([20], seed: 22)
        assertClose(layerNorm(x, weight: w, bias: nil, eps: 1e-5),
                    normalise(x, block: 20, eps: 1e-5, weight: w, bias: nil) { $0 % 20 }, shape: [3, 20], "layerNorm weight only")
        assertClose(layerNorm(x, weight: nil, bias: b, eps: 1e-5),
                    normalise(x, block: 20, eps: 1e-5, weight: nil, bias: b) { $0 % 20 }, shape: [3, 20], "layerNorm bias only")
    }
}
