import XCTest
import TweedieCore

final class Conv2DTests: XCTestCase {
    /// Direct sliding-window convolution in Float64, with Σ|term| of each output.
    private func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int,
                           padding: Int) -> ([Double], [Double], [Int]) {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let ho = (h + 2 * padding - kh) / stride + 1, wo = (wd + 2 * padding - kw) / stride + 1
        var y = [Double](repeating: 0, count: n * o * ho * wo), mag = y
        for bi in 0..<n { for oc in 0..<o { for oy in 0..<ho { for ox in 0..<wo {
            var s = b.map { Double($0.data[oc]) } ?? 0
            var m = abs(s)
            for ic in 0..<c { for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * stride - padding + ky, ix = ox * stride - padding + kx
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                let t = Double(x.data[((bi * c + ic) * h + iy) * wd + ix]) * Double(w.data[((oc * c + ic) * kh + ky) * kw + kx])
                s += t
                m += abs(t)
            } } }
            y[((bi * o + oc) * ho + oy) * wo + ox] = s
            mag[((bi * o + oc) * ho + oy) * wo + ox] = m
        } } } }
        return (y, mag, [n, o, ho, wo])
    }

    private func check(n: Int, c: Int, h: Int, w: Int, o: Int, kh: Int, kw: Int, stride: Int, padding: Int,
                       bias: Bool, seed: UInt64, allowance: Double = 1, line: UInt = #line) {
        let x = randomTensor([n, c, h, w], seed: seed)
        let weight = randomTensor([o, c, kh, kw], seed: seed + 1)
        let b = bias ? randomTensor([o], seed: seed + 2) : nil
        let (expected, magnitudes, shape) = reference(x, weight, b, stride: stride, padding: padding)
        let y = conv2d(x, weight: weight, bias: b, stride: stride, padding: padding)
        assertClose(y, expected, shape: shape, magnitudes: magnitudes, relative: 1e-5 * allowance,
                    absolute: 1e-6 * allowance,
                    "conv \(kh)x\(kw) stride \(stride) padding \(padding) on \(x.shape)", line: line)
    }

    func testKernel3Padding1() {
        // Measured error/allowance 1.3e-02 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 3, h: 7, w: 6, o: 4, kh: 3, kw: 3, stride: 1, padding: 1, bias: true, seed: 10, allowance: 7e-2)
    }

    func testKernel3Stride2() {
        // Measured error/allowance 7.5e-03 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 5, h: 8, w: 7, o: 3, kh: 3, kw: 3, stride: 2, padding: 1, bias: true, seed: 20, allowance: 4e-2)
        // Measured error/allowance 7.5e-03 (worst of 5 OpenBLAS kernels).
        check(n: 1, c: 2, h: 9, w: 9, o: 2, kh: 3, kw: 3, stride: 2, padding: 0, bias: false, seed: 25, allowance: 4e-2)
    }

    func testPointwiseConvolutions() {
        // Measured error/allowance 7.9e-03 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 6, h: 5, w: 3, o: 7, kh: 1, kw: 1, stride: 1, padding: 0, bias: true, seed: 30, allowance: 4e-2)
        // Measured error/allowance 1.5e-02 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 6, h: 5, w: 3, o: 7, kh: 1, kw: 1, stride: 1, padding: 0, bias: false, seed: 35, allowance: 8e-2)
        // Measured error/allowance 4.9e-03 (worst of 5 OpenBLAS kernels).
        check(n: 1, c: 4, h: 6, w: 5, o: 2, kh: 1, kw: 1, stride: 2, padding: 0, bias: true, seed: 40, allowance: 3e-2)
    }

    func testNonSquareKernelsAndWidePadding() {
        // Measured error/allowance 9.9e-03 (worst of 5 OpenBLAS kernels).
        check(n: 1, c: 3, h: 6, w: 9, o: 2, kh: 3, kw: 2, stride: 1, padding: 1, bias: true, seed: 50, allowance: 5e-2)
        // Measured error/allowance 1.0e-02 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 2, h: 5, w: 4, o: 3, kh: 5, kw: 5, stride: 1, padding: 2, bias: true, seed: 60, allowance: 6e-2)
        // Measured error/allowance 1.4e-03 (worst of 5 OpenBLAS kernels).
        check(n: 1, c: 1, h: 3, w: 3, o: 1, kh: 3, kw: 3, stride: 3, padding: 3, bias: false, seed: 70, allowance: 1e-2)
        // "Same" convolutions on maps narrower or shorter than the kernel reach.
        // Measured error/allowance 3.8e-03 (worst of 5 OpenBLAS kernels).
        check(n: 1, c: 2, h: 3, w: 1, o: 2, kh: 5, kw: 5, stride: 1, padding: 2, bias: true, seed: 75, allowance: 2e-2)
        // Measured error/allowance 5.3e-03 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 2, h: 1, w: 4, o: 3, kh: 3, kw: 3, stride: 1, padding: 1, bias: true, seed: 77, allowance: 3e-2)
        // Measured error/allowance 3.8e-03 (worst of 5 OpenBLAS kernels).
        check(n: 1, c: 1, h: 2, w: 2, o: 1, kh: 7, kw: 7, stride: 1, padding: 3, bias: false, seed: 79, allowance: 2e-2)
    }

    func testPatchifyConvolution() {
        // DiT patch embedding: kernel = stride = patch size.
        // Measured error/allowance 8.1e-03 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 4, h: 8, w: 8, o: 6, kh: 2, kw: 2, stride: 2, padding: 0, bias: true, seed: 80, allowance: 5e-2)
    }

    func testLargerPlanesAndOddBatch() {
        // With two or more threads, a batch of 3 runs two samples on separate workers and the third one
        // split across threads: both schedules must agree with the reference.
        // Measured error/allowance 1.6e-02 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 3, h: 17, w: 16, o: 4, kh: 3, kw: 3, stride: 1, padding: 1, bias: true, seed: 100, allowance: 9e-2)
        // Measured error/allowance 1.4e-02 (worst of 5 OpenBLAS kernels).
        check(n: 3, c: 2, h: 33, w: 34, o: 3, kh: 3, kw: 3, stride: 2, padding: 1, bias: false, seed: 110, allowance: 7e-2)
        // Measured error/allowance 1.2e-02 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 5, h: 16, w: 17, o: 3, kh: 1, kw: 1, stride: 1, padding: 0, bias: true, seed: 120, allowance: 7e-2)
    }

    func testEveryThreadCountAgrees() {
        let saved = Runtime.threads
        defer { Runtime.threads = saved }
        for threads in [1, 2, 3] {
            Runtime.threads = threads
            // Measured error/allowance 9.0e-03 (worst of 5 OpenBLAS kernels).
            check(n: 4, c: 3, h: 6, w: 5, o: 2, kh: 3, kw: 3, stride: 1, padding: 1, bias: true, seed: 130, allowance: 5e-2)
        }
    }

    func testManyChannels() {
        // Measured error/allowance 1.6e-02 (worst of 5 OpenBLAS kernels).
        check(n: 2, c: 32, h: 9, w: 10, o: 16, kh: 3, kw: 3, stride: 1, padding: 1, bias: true, seed: 90, allowance: 9e-2)
    }
}
