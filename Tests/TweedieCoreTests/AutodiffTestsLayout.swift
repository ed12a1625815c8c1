import XCTest
import TweedieCore

/// Gradients of the layout ops: reshape, concat/split/chunk, token layout, permutation and padding.
final class AutodiffLayoutTests: XCTestCase {
    func testReshapeThroughSoftmax() {
        // Measured 8.9e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("reshape", [gradientTestTensor([2, 3, 4], seed: 61, scale: 2)], tolerance: 5e-4) { t, v in
            t.softmax(t.reshape(v[0], [6, -1]))
        }
    }

    func testConcatAlongChannelsAndLastAxis() {
        let a = gradientTestTensor([2, 1, 3, 2], seed: 62), b = gradientTestTensor([2, 3, 3, 2], seed: 63)
        let c = gradientTestTensor([2, 2, 3, 2], seed: 64)
        // Measured 2.4e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("concat axis 1", [a, b, c], tolerance: 2e-3) { t, v in t.silu(t.concat(v, axis: 1)) }
        // Measured 1.6e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("concat axis -1", [a, a], tolerance: 8e-4) { t, v in t.gelu(t.concat(v, axis: -1)) }
    }

    func testSplitWithUnusedPieceAndChunk() {
        let x = gradientTestTensor([2, 6, 3], seed: 65, scale: 2)
        // Measured 4.5e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("split", [x], tolerance: 3e-4) { t, v in
            let p = t.split(v[0], sizes: [1, 3, 2], axis: 1)
            return t.concat([t.silu(p[2]), p[0]], axis: 1)  // the middle piece gets no gradient
        }
        let tape = Tape()
        let leaf = tape.leaf(x, requiresGrad: true)
        let p = tape.split(leaf, sizes: [1, 3, 2], axis: 1)
        tape.backward(seeds: [(p[0], Tensor(shape: p[0].shape, repeating: 1))])
        let g = leaf.grad!
        for i in 0..<2 { for j in 0..<6 { for k in 0..<3 {
            XCTAssertEqual(g.data[(i * 6 + j) * 3 + k], j == 0 ? 1 : 0)
        } } }
        // Measured 1.3e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("chunk", [x], tolerance: 7e-5) { t, v in
            let c = t.chunk(v[0], 2, axis: -1)  // sizes 2 and 1, like torch.chunk
            return t.concat([t.gelu(c[1]), c[0]], axis: 2)
        }
    }

    func testTokenLayoutRoundTrip() {
        let x = gradientTestTensor([2, 3, 2, 4], seed: 66)
        // Measured 4.9e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("nchwToNLC", [x], tolerance: 3e-4) { t, v in t.softmax(t.nchwToNLC(v[0])) }
        let tokens = gradientTestTensor([2, 6, 5], seed: 67)
        // Measured 3.9e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("nlcToNCHW", [tokens], tolerance: 2e-4) { t, v in t.softmax(t.nlcToNCHW(v[0], height: 2, width: 3)) }
    }

    func testPermuteUnpatchify() {
        // DiT: [N, h, w, p, q, C] → [N, C, h, p, w, q].
        let x = gradientTestTensor([1, 2, 3, 2, 2, 3], seed: 68)
        let y = x.permuted([0, 5, 1, 3, 2, 4])
        XCTAssertEqual(y.shape, [1, 3, 2, 2, 3, 2])
        for c in 0..<3 { for h in 0..<2 { for p in 0..<2 { for w in 0..<3 { for q in 0..<2 {
            XCTAssertEqual(y.data[(((c * 2 + h) * 2 + p) * 3 + w) * 2 + q], x.data[(((h * 3 + w) * 2 + p) * 2 + q) * 3 + c])
        } } } } }
        // Measured 2.3e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("permute", [x], tolerance: 2e-4) { t, v in t.softmax(t.reshape(t.permute(v[0], [0, 5, 1, 3, 2, 4]), [1, 3, 4, 6])) }
    }

    func testAsymmetricPadThenStridedConv() {
        // The VAE encoder downsampler: pad (0, 1, 0, 1), then a 3×3 stride-2 convolution without padding.
        let x = gradientTestTensor([1, 2, 4, 5], seed: 69), w = gradientTestTensor([2, 2, 3, 3], seed: 70)
        let padded = x.padded2d(left: 0, right: 1, top: 0, bottom: 1)
        XCTAssertEqual(padded.shape, [1, 2, 5, 6])
        XCTAssertEqual(padded.data[6 + 1], x.data[5 + 1])
        XCTAssertEqual(padded.data[5], 0)
        XCTAssertEqual(padded.padded2d(left: 0, right: -1, top: 0, bottom: -1), x)
        // Measured 1.2e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("pad2d + conv stride 2", [x, w], tolerance: 6e-4) { t, v in
            t.conv2d(t.pad2d(v[0], left: 0, right: 1, top: 0, bottom: 1), v[1], stride: 2)
        }
        // Measured 1.3e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("pad2d all sides", [x], tolerance: 7e-5) { t, v in t.silu(t.pad2d(v[0], left: 2, right: 1, top: 1, bottom: 3)) }
    }
}
