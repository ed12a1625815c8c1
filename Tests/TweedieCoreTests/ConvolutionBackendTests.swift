import XCTest
import TweedieCore

/// Both convolution backends against each other on U-Net shapes (channel counts that do and do not fill oneDNN's
/// 8- and 16-channel blocks, strides, padding, 1×1, no bias), and the oneDNN weight cache's contract: a cached
/// reorder never outlives the contents it was made from.
final class ConvolutionBackendTests: XCTestCase {
    private var saved = ConvolutionBackend.current

    override func setUp() {
        super.setUp()
        saved = ConvolutionBackend.current
    }

    override func tearDown() {
        ConvolutionBackend.current = saved
        super.tearDown()
    }

    private func run(_ backend: ConvolutionBackend, _ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, padding: Int,
                     constant: Bool = false) -> Tensor {
        ConvolutionBackend.current = backend
        return conv2d(x, weight: w, bias: b, stride: stride, padding: padding, constantWeights: constant)
    }

    /// Largest |a − b| over the largest |b|: both are Float32 sums of the same terms in another order.
    private func relativeGap(_ a: Tensor, _ b: Tensor) -> Float { a.maxAbsDifference(b) / max(b.maxAbs, 1e-30) }

    func testBackendsAgreeOnUNetShapes() throws {
        try XCTSkipIf(!oneDNNAvailable, "oneDNN not available")
        let cases: [(n: Int, c: Int, h: Int, o: Int, k: Int, stride: Int, padding: Int, bias: Bool)] = [
            (1, 3, 32, 128, 3, 1, 1, true),     // conv_in: 3 input channels
            (2, 128, 16, 128, 3, 1, 1, true),   // a resnet conv
            (2, 128, 16, 256, 1, 1, 0, true),   // a channel-changing shortcut
            (1, 256, 8, 256, 3, 2, 1, true),    // a downsampler
            (3, 40, 9, 6, 3, 1, 1, false),      // channels that fill no block, no bias
            (1, 128, 32, 3, 3, 1, 1, true),     // conv_out: 3 output channels
        ]
        for (i, t) in cases.enumerated() {
            let x = randomTensor([t.n, t.c, t.h, t.h], seed: UInt64(100 + i))
            let w = randomTensor([t.o, t.c, t.k, t.k], seed: UInt64(200 + i), range: 0.1)
            let b = t.bias ? randomTensor([t.o], seed: UInt64(300 + i)) : nil
            let reference = run(.im2col, x, w, b, stride: t.stride, padding: t.padding)
            let fast = run(.oneDNN, x, w, b, stride: t.stride, padding: t.padding)
            XCTAssertEqual(fast.shape, reference.shape)
            XCTAssertLessThan(relativeGap(fast, reference), 1e-5, "case \(i): \(t)")
        }
    }

    /// The weight and bias gradients (oneDNN's weights-gradient kernel against im2col + GEMM) and the input
    /// gradient on the same U-Net shapes.
    func testBackwardBackendsAgreeOnUNetShapes() throws {
        try XCTSkipIf(!oneDNNAvailable, "oneDNN not available")
        let cases: [(n: Int, c: Int, h: Int, o: Int, k: Int, stride: Int, padding: Int)] = [
            (2, 3, 32, 32, 3, 1, 1), (4, 32, 16, 64, 3, 1, 1), (2, 64, 16, 32, 1, 1, 0), (3, 32, 16, 32, 3, 2, 1),
            (3, 40, 9, 6, 3, 1, 1), (1, 64, 32, 3, 3, 1, 1)]
        for (i, t) in cases.enumerated() {
            let x = randomTensor([t.n, t.c, t.h, t.h], seed: UInt64(400 + i))
            let w = randomTensor([t.o, t.c, t.k, t.k], seed: UInt64(500 + i), range: 0.1)
            let ho = (t.h + 2 * t.padding - t.k) / t.stride + 1
            let dy = randomTensor([t.n, t.o, ho, ho], seed: UInt64(600 + i))
            ConvolutionBackend.current = .im2col
            let want = conv2dBackward(gradOutput: dy, input: x, weight: w, stride: t.stride, padding: t.padding)
            ConvolutionBackend.current = .oneDNN
            let got = conv2dBackward(gradOutput: dy, input: x, weight: w, stride: t.stride, padding: t.padding)
            // Measured at most 1.1e-6 (weight), 1.5e-6 (bias), 7.9e-7 (input) relative (AVX-512 machine).
            XCTAssertLessThan(relativeGap(got.weight!, want.weight!), 1.2e-5, "case \(i) dW: \(t)")
            XCTAssertLessThan(relativeGap(got.bias!, want.bias!), 1.5e-5, "case \(i) db: \(t)")
            XCTAssertLessThan(relativeGap(got.input!, want.input!), 8e-6, "case \(i) dx: \(t)")
        }
    }

    func testCachedWeightsFollowTheirContents() throws {
        try XCTSkipIf(!oneDNNAvailable, "oneDNN not available")
        let x = randomTensor([1, 16, 8, 8], seed: 1)
        var w = randomTensor([32, 16, 3, 3], seed: 2, range: 0.1)
        let first = run(.oneDNN, x, w, nil, stride: 1, padding: 1, constant: true)
        // Seen twice, then cached: the later calls read the cached reorder and must give the same bits.
        for _ in 0..<3 { assertEqualTensors(run(.oneDNN, x, w, nil, stride: 1, padding: 1, constant: true), first, "cached") }
        // A write to the weights copies their storage (the cache holds a reference), so the new values are used.
        w.withUnsafeMutableBufferPointer { $0[0] += 1 }
        let changed = run(.oneDNN, x, w, nil, stride: 1, padding: 1, constant: true)
        let expected = run(.im2col, x, w, nil, stride: 1, padding: 1)
        XCTAssertLessThan(relativeGap(changed, expected), 1e-5)
        XCTAssertGreaterThan(changed.maxAbsDifference(first), 1e-3)
    }

    private var oneDNNAvailable: Bool {
        let saved = ConvolutionBackend.current
        defer { ConvolutionBackend.current = saved }
        ConvolutionBackend.current = .oneDNN
        return ConvolutionBackend.current == .oneDNN
    }
}

/// The BF16 convolution path against Float32 on U-Net shapes: the error BF16's 8-bit mantissa allows, no more.
final class ConvolutionPrecisionTests: XCTestCase {
    func testBFloat16AgreesWithFloat32ToItsRounding() throws {
        try XCTSkipIf(!ComputePrecision.bfloat16Available, "no oneDNN BF16 convolution on this CPU")
        let savedBackend = ConvolutionBackend.current, savedPrecision = ComputePrecision.current
        defer { ConvolutionBackend.current = savedBackend; ComputePrecision.current = savedPrecision }
        ConvolutionBackend.current = .oneDNN
        let cases: [(n: Int, c: Int, h: Int, o: Int, k: Int, stride: Int, padding: Int)] = [
            (1, 3, 32, 64, 3, 1, 1), (2, 64, 16, 128, 3, 1, 1), (2, 128, 16, 64, 1, 1, 0), (1, 64, 16, 64, 3, 2, 1)]
        for (i, t) in cases.enumerated() {
            let x = randomTensor([t.n, t.c, t.h, t.h], seed: UInt64(700 + i))
            let w = randomTensor([t.o, t.c, t.k, t.k], seed: UInt64(800 + i), range: 0.1)
            let b = randomTensor([t.o], seed: UInt64(900 + i))
            ComputePrecision.current = .float32
            let reference = conv2d(x, weight: w, bias: b, stride: t.stride, padding: t.padding)
            ComputePrecision.current = .bfloat16
            XCTAssertEqual(ComputePrecision.current, .bfloat16)
            let low = conv2d(x, weight: w, bias: b, stride: t.stride, padding: t.padding)
            let gap = low.maxAbsDifference(reference) / max(reference.maxAbs, 1e-30)
            // Measured 1.1e-3 to 2.0e-3 (AVX512-BF16, AMD EPYC): BF16's unit roundoff is 2^-9 = 2.0e-3.
            XCTAssertLessThan(gap, 1e-2, "case \(i): \(t)")
            // It is really BF16: Float32 paths agree to ~1e-6, rounding to 8 mantissa bits moves results more.
            XCTAssertGreaterThan(gap, 1e-5, "case \(i): \(t)")
        }
    }
}
