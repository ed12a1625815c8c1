import XCTest
import TweedieCore

/// Gradients of group and layer normalisation, with and without the affine parameters.
final class AutodiffNormTests: XCTestCase {
    func testGroupNormAffine() {
        let x = gradientTestTensor([2, 4, 3, 3], seed: 21, scale: 2, offset: 0.5)
        let w = gradientTestTensor([4], seed: 22, offset: 1), b = gradientTestTensor([4], seed: 23)
        // Measured 2.6e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("groupNorm affine", [x, w, b], tolerance: 2e-4) { t, v in
            t.groupNorm(v[0], groups: 2, weight: v[1], bias: v[2], eps: 1e-5)
        }
    }

    func testGroupNormPlainAndTokens() {
        let x = gradientTestTensor([1, 6, 5], seed: 24, scale: 3)
        // Measured 7.8e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("groupNorm plain", [x], tolerance: 4e-4) { t, v in t.groupNorm(v[0], groups: 3, eps: 1e-6) }
        let w = gradientTestTensor([6], seed: 25, offset: 1)
        // Measured 1.4e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("groupNorm weight only", [x, w], tolerance: 8e-4) { t, v in
            t.groupNorm(v[0], groups: 1, weight: v[1], eps: 1e-6)
        }
    }

    func testLayerNormAffineAndPlain() {
        let x = gradientTestTensor([2, 3, 8], seed: 26, scale: 2, offset: -0.3)
        let w = gradientTestTensor([8], seed: 27, offset: 1), b = gradientTestTensor([8], seed: 28)
        // Measured 9.2e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("layerNorm affine", [x, w, b], tolerance: 5e-4) { t, v in t.layerNorm(v[0], weight: v[1], bias: v[2], eps: 1e-6) }
        // Measured 1.2e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("layerNorm plain", [x], tolerance: 6e-5) { t, v in t.layerNorm(v[0], eps: 1e-6) }
    }

    func testAffineOnlyWithConstantInput() {
        // The input needs no gradient: only the parameter paths of the backward kernels run.
        let x = gradientTestTensor([2, 4, 3], seed: 32, scale: 2)
        let w = gradientTestTensor([4], seed: 33, offset: 1), b = gradientTestTensor([4], seed: 34)
        // Measured 2.2e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("groupNorm params only", [x, w, b], differentiable: [false, true, true], tolerance: 2e-4) { t, v in
            t.groupNorm(v[0], groups: 2, weight: v[1], bias: v[2], eps: 1e-5)
        }
        let w3 = gradientTestTensor([3], seed: 35, offset: 1), b3 = gradientTestTensor([3], seed: 36)
        // Measured 2.1e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("layerNorm params only", [x, w3, b3], differentiable: [false, true, true], tolerance: 2e-4) { t, v in
            t.layerNorm(v[0], weight: v[1], bias: v[2], eps: 1e-5)
        }
        // Measured 3.1e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("layerNorm bias only", [x, b3], tolerance: 2e-3) { t, v in t.layerNorm(v[0], bias: v[1], eps: 1e-5) }
    }

    func testLayerNormManyRowsIsThreadedConsistently() {
        // Enough rows to split into pieces: the summed affine gradients must match a one-row-at-a-time sum.
        let x = gradientTestTensor([300, 16], seed: 29), w = gradientTestTensor([16], seed: 30, offset: 1)
        let dy = gradientTestTensor([300, 16], seed: 31)
        let all = layerNormBackward(gradOutput: dy, input: x, weight: w, eps: 1e-5)
        var dw = [Double](repeating: 0, count: 16)
        for r in 0..<300 {
            let row = layerNormBackward(gradOutput: Tensor(shape: [1, 16], data: Array(dy.data[(r * 16)..<(r * 16 + 16)])),
                                        input: Tensor(shape: [1, 16], data: Array(x.data[(r * 16)..<(r * 16 + 16)])),
                                        weight: w, eps: 1e-5)
            for i in 0..<16 { dw[i] += Double(row.weight!.data[i]) }
            XCTAssertLessThanOrEqual(Tensor(shape: [16], data: Array(all.input!.data[(r * 16)..<(r * 16 + 16)]))
                .maxAbsDifference(Tensor(shape: [16], data: row.input!.data)), 1e-6)
        }
        for i in 0..<16 { XCTAssertEqual(Double(all.weight!.data[i]), dw[i], accuracy: 1e-4) }
    }
}
