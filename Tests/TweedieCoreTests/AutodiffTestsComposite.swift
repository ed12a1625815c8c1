import XCTest
import TweedieCore

// Tiny versions of the model blocks, end to end on the tape. The blocks are shared with the checkpoint tests.

/// Parameters and inputs of a tiny U-Net resnet block: x [2, 4, 4, 4], time embedding [2, 8] → [2, 6, 4, 4].
func resnetBlockInputs(seed: UInt64) -> [Tensor] {
    let shapes: [[Int]] = [[2, 4, 4, 4], [2, 8],                 // x, temb
                           [4], [4], [6, 4, 3, 3], [6],           // norm1 γ β, conv1 W b
                           [6, 8], [6],                           // time projection W b
                           [6], [6], [6, 6, 3, 3], [6],           // norm2 γ β, conv2 W b
                           [6, 4, 1, 1], [6]]                     // 1×1 shortcut W b
    return shapes.enumerated().map { i, s in
        // Norm weights around 1, everything else around 0; convolution weights kept small.
        let isGamma = i == 2 || i == 8
        return gradientTestTensor(s, seed: seed + UInt64(i), scale: s.count == 4 ? 0.3 : (isGamma ? 0.2 : 1),
                                  offset: isGamma ? 1 : 0)
    }
}

/// GroupNorm → SiLU → conv → + projected time embedding → GroupNorm → SiLU → conv, plus the 1×1 shortcut,
/// divided by the output scale factor (diffusers ResnetBlock2D).
func resnetBlock(_ t: Tape, _ p: [Variable]) -> Variable {
    var h = t.silu(t.groupNorm(p[0], groups: 2, weight: p[2], bias: p[3], eps: 1e-5))
    h = t.conv2d(h, p[4], p[5], padding: 1)
    h = t.addChannelBias(h, t.linear(t.silu(p[1]), p[6], p[7]))
    h = t.silu(t.groupNorm(h, groups: 3, weight: p[8], bias: p[9], eps: 1e-5))
    h = t.conv2d(h, p[10], p[11], padding: 1)
    return t.scale(t.conv2d(p[0], p[12], p[13]) + h, 1 / 1.5)
}

/// A tiny U-Net attention block: x [1, 4, 3, 3], GroupNorm, q/k/v projections, two heads, output projection,
/// residual.
func attentionBlockInputs(seed: UInt64) -> [Tensor] {
    [[1, 4, 3, 3], [4], [4], [4, 4], [4], [4, 4], [4], [4, 4], [4], [4, 4], [4]].enumerated().map { i, s in
        gradientTestTensor(s, seed: seed + UInt64(i), scale: s.count == 2 ? 0.6 : 1, offset: i == 1 ? 1 : 0)
    }
}

func attentionBlock(_ t: Tape, _ p: [Variable]) -> Variable {
    let tokens = t.nchwToNLC(t.groupNorm(p[0], groups: 2, weight: p[1], bias: p[2], eps: 1e-6))
    let q = t.linear(tokens, p[3], p[4]), k = t.linear(tokens, p[5], p[6]), v = t.linear(tokens, p[7], p[8])
    let out = t.linear(t.attention(q: q, k: k, v: v, heads: 2), p[9], p[10])
    return t.nlcToNCHW(out, height: 3, width: 3) + p[0]
}

/// A tiny DiT block with adaLN-Zero conditioning from a class embedding, then unpatchify:
/// tokens [2, 4, 8], class table [3, 8] → image [2, 2, 4, 4] (patch 2, 2 channels).
func ditBlockInputs(seed: UInt64) -> [Tensor] {
    [[2, 4, 8], [3, 8], [48, 8], [48], [8, 8], [8, 8], [8, 8], [8, 8], [16, 8], [8, 16], [8]]
        .enumerated().map { i, s in gradientTestTensor(s, seed: seed + UInt64(i), scale: s.count == 2 ? 0.5 : 1) }
}

func ditBlock(_ t: Tape, _ p: [Variable]) -> Variable {
    let cond = t.silu(t.embedding([2, 0], table: p[1]))
    let m = t.chunk(t.linear(cond, p[2], p[3]), 6, axis: 1)
    var x = p[0]
    let a = t.modulate(t.layerNorm(x, eps: 1e-6), shift: m[0], scale: m[1])
    let att = t.attention(q: t.linear(a, p[4]), k: t.linear(a, p[5]), v: t.linear(a, p[6]), heads: 2)
    x = x + t.gate(t.linear(att, p[7]), m[2])
    let f = t.modulate(t.layerNorm(x, eps: 1e-6), shift: m[3], scale: m[4])
    x = x + t.gate(t.linear(t.gelu(t.linear(f, p[8]), approximate: true), p[9], p[10]), m[5])
    // Unpatchify: [N, h·w, p·q·C] → [N, h, w, p, q, C] → [N, C, h, p, w, q] → [N, C, 4, 4].
    let grid = t.reshape(x, [2, 2, 2, 2, 2, 2])
    return t.reshape(t.permute(grid, [0, 5, 1, 3, 2, 4]), [2, 2, 4, 4])
}

/// End-to-end gradients through composed blocks.
final class AutodiffCompositeTests: XCTestCase {
    func testResnetBlock() {
        // Measured 8.7e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("resnet block", resnetBlockInputs(seed: 200), tolerance: 5e-3, elementwiseLimit: 40, resnetBlock)
    }

    func testAttentionBlock() {
        let inputs = attentionBlockInputs(seed: 300)
        // Softmax ignores a shift shared by all keys, so the key bias (input 6) has an exactly zero gradient: it
        // is checked for that below rather than against rounding noise.
        // Measured 2.1e-03 (worst of 5 OpenBLAS kernels).
        checkGradients("attention block", inputs, differentiable: inputs.indices.map { $0 != 6 }, tolerance: 2e-2, elementwiseLimit: 40,
                       attentionBlock)
        let tape = Tape()
        let leaves = inputs.map { tape.leaf($0, requiresGrad: true) }
        let g = tape.gradients(of: tape.sum(tape.silu(attentionBlock(tape, leaves))), wrt: [leaves[6], leaves[4]])
        XCTAssertLessThan(g[0].maxAbs, 1e-5 * g[1].maxAbs)
    }

    func testDiTBlock() {
        // Measured 2.5e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("DiT block", ditBlockInputs(seed: 400), tolerance: 2e-3, elementwiseLimit: 40, ditBlock)
    }

    func testGradientDescentFitsATinyConvNet() {
        // A new tape per step, as in training: 60 plain gradient steps must cut the loss at least tenfold.
        let x = gradientTestTensor([2, 2, 5, 5], seed: 510)
        let target = conv2d(TweedieCore.silu(conv2d(x, weight: gradientTestTensor([3, 2, 3, 3], seed: 511), bias: nil,
                                                    padding: 1)),
                            weight: gradientTestTensor([1, 3, 1, 1], seed: 512), bias: nil)
        var params = [gradientTestTensor([3, 2, 3, 3], seed: 513, scale: 0.3), gradientTestTensor([3], seed: 514, scale: 0.1),
                      gradientTestTensor([1, 3, 1, 1], seed: 515, scale: 0.3)]
        var losses: [Float] = []
        for _ in 0..<60 {
            let tape = Tape()
            let p = params.map { tape.leaf($0, requiresGrad: true) }
            let out = tape.conv2d(tape.silu(tape.conv2d(tape.constant(x), p[0], p[1], padding: 1)), p[2])
            let loss = tape.mseLoss(out, tape.constant(target))
            losses.append(loss.value.data[0])
            let grads = tape.gradients(of: loss, wrt: p)
            for i in params.indices { params[i] = params[i] - grads[i] * 2 }
        }
        print("gradient descent: loss \(losses.first!) -> \(losses.last!)")
        XCTAssertLessThan(losses.last!, losses.first! / 10, "losses \(losses)")
    }

    func testDownUpPathWithSkipConcat() {
        // conv → strided conv down → upsample → concat skip → conv → mse against a target.
        let inputs = [gradientTestTensor([1, 2, 4, 4], seed: 500), gradientTestTensor([3, 2, 3, 3], seed: 501, scale: 0.4),
                      gradientTestTensor([3, 3, 3, 3], seed: 502, scale: 0.4), gradientTestTensor([2, 6, 3, 3], seed: 503, scale: 0.3),
                      gradientTestTensor([1, 2, 4, 4], seed: 504)]
        // Measured 1.2e-04 (worst of 5 OpenBLAS kernels).
        checkGradients("down-up path", inputs, differentiable: [true, true, true, true, false], tolerance: 7e-4, elementwiseLimit: 40) { t, p in
            let skip = t.silu(t.conv2d(p[0], p[1], padding: 1))
            let down = t.silu(t.conv2d(skip, p[2], stride: 2, padding: 1))
            let up = t.upsampleNearest2x(down)
            let out = t.conv2d(t.concat([up, skip], axis: 1), p[3], padding: 1)
            return t.mseLoss(out, p[4])
        }
    }
}
