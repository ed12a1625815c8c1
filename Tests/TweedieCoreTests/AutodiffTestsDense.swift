import XCTest
import TweedieTestSupport
import TweedieCore

/// Gradients of linear layers and convolutions (including strided downsampling and patch embedding).
final class AutodiffDenseTests: XCTestCase {
    func testLinearWithBias() {
        let x = gradientTestTensor([2, 3, 5], seed: 1), w = gradientTestTensor([4, 5], seed: 2)
        let b = gradientTestTensor([4], seed: 3)
        // Measured 2.6e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("linear", [x, w, b], tolerance: 2e-4) { t, v in t.linear(v[0], v[1], v[2]) }
    }

    func testLinearWithoutBiasAndConstantInput() {
        let x = gradientTestTensor([6, 7], seed: 4), w = gradientTestTensor([3, 7], seed: 5)
        // Measured 1.4e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("linear no bias", [x, w], tolerance: 8e-4) { t, v in t.linear(v[0], v[1]) }
        // Measured 1.2e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("linear weight only", [x, w], differentiable: [false, true], tolerance: 6e-5) { t, v in t.linear(v[0], v[1]) }
    }

    func testConv3x3Padded() {
        let x = gradientTestTensor([2, 3, 5, 6], seed: 6), w = gradientTestTensor([4, 3, 3, 3], seed: 7, scale: 0.5)
        let b = gradientTestTensor([4], seed: 8)
        // Measured 2.7e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("conv2d 3x3 pad 1", [x, w, b], tolerance: 2e-4) { t, v in t.conv2d(v[0], v[1], v[2], padding: 1) }
    }

    func testConvPartialGradients() {
        // Frozen weights (reward backpropagation to the input) and a constant input (training the layer).
        let x = gradientTestTensor([1, 2, 4, 5], seed: 20), w = gradientTestTensor([3, 2, 3, 3], seed: 21, scale: 0.5)
        let b = gradientTestTensor([3], seed: 22)
        // Measured 4.0e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("conv2d input only", [x, w, b], differentiable: [true, false, false], tolerance: 2e-4) { t, v in
            t.conv2d(v[0], v[1], v[2], padding: 1)
        }
        // Measured 4.5e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("conv2d parameters only", [x, w, b], differentiable: [false, true, true], tolerance: 3e-4) { t, v in
            t.conv2d(v[0], v[1], v[2], stride: 2, padding: 1)
        }
    }

    func testConvStridedDownsample() {
        // The U-Net downsampler (stride 2, padding 1) on odd and even sizes.
        for (h, wd) in [(6, 6), (7, 5)] {
            let x = gradientTestTensor([1, 2, h, wd], seed: 9), w = gradientTestTensor([3, 2, 3, 3], seed: 10)
            let b = gradientTestTensor([3], seed: 11)
            // Measured 1.4e-04 (worst of 5 OpenBLAS kernels).
            checkGradients("conv2d stride 2 \(h)x\(wd)", [x, w, b], tolerance: 8e-4) { t, v in
                t.conv2d(v[0], v[1], v[2], stride: 2, padding: 1)
            }
        }
    }

    func testConvPointwiseAndPatchEmbedding() {
        let x = gradientTestTensor([2, 4, 3, 3], seed: 12), w1 = gradientTestTensor([5, 4, 1, 1], seed: 13)
        // Measured 1.5e-05 (worst of 5 OpenBLAS kernels).
        checkGradients("conv2d 1x1", [x, w1], tolerance: 8e-5) { t, v in t.conv2d(v[0], v[1]) }
        // DiT patch embedding: kernel = stride = patch size, no padding.
        let p = gradientTestTensor([1, 3, 4, 4], seed: 14), w2 = gradientTestTensor([6, 3, 2, 2], seed: 15)
        let b2 = gradientTestTensor([6], seed: 16)
        // Measured 3.0e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("conv2d patch 2x2/2", [p, w2, b2], tolerance: 2e-3) { t, v in t.conv2d(v[0], v[1], v[2], stride: 2) }
    }

    func testConvBackwardAgainstDirectSums() {
        // Input gradient of a 2x2 kernel, stride 1, padding 1, checked against the defining double sum.
        let x = gradientTestTensor([1, 2, 3, 4], seed: 17), w = gradientTestTensor([2, 2, 2, 2], seed: 18)
        let y = conv2d(x, weight: w, bias: nil, padding: 1)
        let dy = gradientTestTensor(y.shape, seed: 19)
        let r = conv2dBackward(gradOutput: dy, input: x, weight: w, padding: 1)
        let (ho, wo) = (y.shape[2], y.shape[3])
        for c in 0..<2 { for i in 0..<3 { for j in 0..<4 {
            var s: Float = 0
            for o in 0..<2 { for ki in 0..<2 { for kj in 0..<2 {
                let oi = i + 1 - ki, oj = j + 1 - kj
                guard oi >= 0 && oi < ho && oj >= 0 && oj < wo else { continue }
                s += dy.data[(o * ho + oi) * wo + oj] * w.data[((o * 2 + c) * 2 + ki) * 2 + kj]
            } } }
            XCTAssertEqual(r.input!.data[(c * 3 + i) * 4 + j], s, accuracy: 1e-5)
        } } }
        XCTAssertEqual(Double(r.bias!.data[1]), dy.data[(ho * wo)..<(2 * ho * wo)].reduce(0.0) { $0 + Double($1) },
                       accuracy: 1e-5)
    }

    /// With several threads the samples are split into groups with their own weight-gradient sums: every thread
    /// count (more or fewer groups than samples, uneven groups) gives the single-threaded gradients.
    func testConvBackwardSameForEveryThreadCount() {
        let saved = Runtime.threads
        defer { Runtime.threads = saved }
        let cases: [(x: [Int], w: [Int], stride: Int, padding: Int)] = [
            ([5, 6, 9, 10], [4, 6, 3, 3], 1, 1), ([5, 3, 9, 8], [4, 3, 3, 3], 2, 1), ([5, 6, 4, 4], [3, 6, 1, 1], 1, 0)]
        for (k, c) in cases.enumerated() {
            let x = gradientTestTensor(c.x, seed: UInt64(30 + 3 * k)), w = gradientTestTensor(c.w, seed: UInt64(31 + 3 * k))
            let y = conv2d(x, weight: w, bias: nil, stride: c.stride, padding: c.padding)
            let dy = gradientTestTensor(y.shape, seed: UInt64(32 + 3 * k))
            Runtime.threads = 1
            let want = conv2dBackward(gradOutput: dy, input: x, weight: w, stride: c.stride, padding: c.padding)
            for threads in [2, 3, 8] {
                Runtime.threads = threads
                let got = conv2dBackward(gradOutput: dy, input: x, weight: w, stride: c.stride, padding: c.padding)
                let tag = "case \(k), \(threads) threads"
                // Measured: input and bias 0, weight 1.0e-7 relative (summed over other sample groups) (worst of 5 OpenBLAS kernels).
                assertMeasured(relativeError(got.input!, want.input!), tolerance: 1e-7, "conv backward input \(tag)")
                assertMeasured(relativeError(got.weight!, want.weight!), tolerance: 6e-7, "conv backward weight \(tag)")
                assertMeasured(relativeError(got.bias!, want.bias!), tolerance: 1e-7, "conv backward bias \(tag)")
                // Only the weight gradient: the input operand alone is kept, and no input gradient is formed.
                let wOnly = conv2dBackward(gradOutput: dy, input: x, weight: w, stride: c.stride, padding: c.padding,
                                           needInput: false)
                XCTAssertNil(wOnly.input)
                assertMeasured(relativeError(wOnly.weight!, want.weight!), tolerance: 6e-7, "conv backward weight only \(tag)")
            }
        }
    }

    /// Adjoint identities ⟨conv(x, w), dY⟩ = ⟨x, dx⟩ = ⟨w, dW⟩ (a convolution is linear in each operand) over the
    /// geometries of both input-gradient routes: stride 1 (a convolution with the flipped kernel, any padding up
    /// to k − 1, rectangular kernels) and strided or wider-padded ones (col2im).
    func testConvBackwardIsTheAdjoint() {
        let cases: [(x: [Int], w: [Int], stride: Int, padding: Int)] = [
            ([3, 4, 7, 6], [5, 4, 3, 3], 1, 0), ([3, 4, 7, 6], [5, 4, 3, 3], 1, 2), ([2, 3, 8, 9], [4, 3, 5, 5], 1, 1),
            ([2, 3, 6, 6], [2, 3, 2, 2], 1, 0), ([2, 3, 7, 8], [4, 3, 3, 2], 1, 1), ([2, 3, 9, 8], [4, 3, 3, 3], 2, 1),
            ([2, 2, 5, 5], [3, 2, 3, 3], 1, 3)]
        func dot(_ a: Tensor, _ b: Tensor) -> Double { zip(a.data, b.data).reduce(0.0) { $0 + Double($1.0 * $1.1) } }
        for (k, c) in cases.enumerated() {
            let x = gradientTestTensor(c.x, seed: UInt64(50 + 3 * k)), w = gradientTestTensor(c.w, seed: UInt64(51 + 3 * k))
            let y = conv2d(x, weight: w, bias: nil, stride: c.stride, padding: c.padding)
            let dy = gradientTestTensor(y.shape, seed: UInt64(52 + 3 * k))
            let r = conv2dBackward(gradOutput: dy, input: x, weight: w, stride: c.stride, padding: c.padding)
            let reference = dot(y, dy)
            XCTAssertEqual(r.input!.shape, c.x)
            XCTAssertEqual(dot(x, r.input!), reference, accuracy: 1e-5 * max(1, abs(reference)), "case \(k) dx")
            XCTAssertEqual(dot(w, r.weight!), reference, accuracy: 1e-5 * max(1, abs(reference)), "case \(k) dW")
        }
    }
}
