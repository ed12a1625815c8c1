import XCTest
import TweedieCore

/// Reference values from diffusers 0.42 (torch 2.15, CPU), printed with repr(float(v)).
final class EmbeddingTests: XCTestCase {
    // get_timestep_embedding(torch.tensor([0., 1., 250.5, 999.]), 7, flip_sin_to_cos=True,
    //                        downscale_freq_shift=0)  — all 4×7 values.
    let oddFlipped: [Double] = [
        1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0,
        0.5403023362159729, 0.9989229440689087, 0.9999976754188538, 0.8414709568023682, 0.046399228274822235,
        0.0021544331684708595, 0.0,
        0.67678302526474, 0.5904422998428345, 0.8578701019287109, -0.7361825108528137, -0.8070798516273499,
        0.5138665437698364, 0.0,
        0.9996498227119446, -0.7286733388900757, -0.549264669418335, -0.02646075189113617, 0.684861421585083,
        0.8356484770774841, 0.0,
    ]

    // get_timestep_embedding(torch.tensor([999., 17.]), 320, flip_sin_to_cos=False, downscale_freq_shift=1)
    //   [:, [0, 1, 2, 80, 159, 160, 161, 240, 318, 319]]
    let wideColumns = [0, 1, 2, 80, 159, 160, 161, 240, 318, 319]
    let wide: [Double] = [
        -0.02646075189113617, 0.2932796776294708, -0.6007900238037109, -0.27638015151023865, 0.09973391145467758,
        0.9996498227119446, 0.9560266733169556, -0.961048424243927, 0.994402289390564, 0.9950141310691833,
        -0.9613974690437317, -0.3290175199508667, 0.5376642346382141, 0.16439713537693024, 0.0016999989748001099,
        -0.27516335248947144, -0.9443238377571106, 0.9863942265510559, 0.9999983906745911, 0.9999985694885254,
    ]

    // get_timestep_embedding(torch.tensor([3.25, 640.]), 10, flip_sin_to_cos=False, downscale_freq_shift=1,
    //                        scale=2.5, max_period=5000)  — all 2×10 values.
    let scaled: [Double] = [
        0.9634987711906433, 0.822749137878418, 0.11465218663215637, 0.013664144091308117, 0.0016249999171122909,
        -0.2677127718925476, 0.5684046149253845, 0.9934056997299194, 0.9999066591262817, 0.9999986886978149,
        -0.8012247681617737, 0.9786946177482605, -0.5942009687423706, 0.43561673164367676, 0.3145666718482971,
        -0.59836345911026, -0.20532135665416718, -0.8043165802955627, -0.9001322388648987, 0.9492353796958923,
    ]

    // get_2d_sincos_pos_embed(8, 3, base_size=2, interpolation_scale=1.5).float()  — all 9×8 values.
    let smallGrid: [Double] = [
        0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0,
        0.4299563765525818, 0.004444429650902748, 0.9028496742248535, 0.9999901056289673, 0.0, 0.0, 1.0, 1.0,
        0.7763718962669373, 0.008888771757483482, 0.6302750706672668, 0.9999604821205139, 0.0, 0.0, 1.0, 1.0,
        0.0, 0.0, 1.0, 1.0, 0.4299563765525818, 0.004444429650902748, 0.9028496742248535, 0.9999901056289673,
        0.4299563765525818, 0.004444429650902748, 0.9028496742248535, 0.9999901056289673,
        0.4299563765525818, 0.004444429650902748, 0.9028496742248535, 0.9999901056289673,
        0.7763718962669373, 0.008888771757483482, 0.6302750706672668, 0.9999604821205139,
        0.4299563765525818, 0.004444429650902748, 0.9028496742248535, 0.9999901056289673,
        0.0, 0.0, 1.0, 1.0, 0.7763718962669373, 0.008888771757483482, 0.6302750706672668, 0.9999604821205139,
        0.4299563765525818, 0.004444429650902748, 0.9028496742248535, 0.9999901056289673,
        0.7763718962669373, 0.008888771757483482, 0.6302750706672668, 0.9999604821205139,
        0.7763718962669373, 0.008888771757483482, 0.6302750706672668, 0.9999604821205139,
        0.7763718962669373, 0.008888771757483482, 0.6302750706672668, 0.9999604821205139,
    ]

    // get_2d_sincos_pos_embed(1152, 16, base_size=16, interpolation_scale=1.0).float()  (DiT-XL/2 at 256 px)
    //   [[0, 1, 17, 255]][:, [0, 1, 287, 288, 575, 576, 577, 863, 864, 1151]]
    let ditRows = [0, 1, 17, 255], ditColumns = [0, 1, 287, 288, 575, 576, 577, 863, 864, 1151]
    let dit: [Double] = [
        0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0,
        0.8414709568023682, 0.8240513205528259, 0.00010324972390662879, 0.5403022766113281, 1.0,
        0.0, 0.0, 0.0, 1.0, 1.0,
        0.8414709568023682, 0.8240513205528259, 0.00010324972390662879, 0.5403022766113281, 1.0,
        0.8414709568023682, 0.8240513205528259, 0.00010324972390662879, 0.5403022766113281, 1.0,
        0.6502878665924072, 0.9246361255645752, 0.0015487452037632465, -0.7596879005432129, 0.9999988079071045,
        0.6502878665924072, 0.9246361255645752, 0.0015487452037632465, -0.7596879005432129, 0.9999988079071045,
    ]

    /// Values are sines and cosines in [-1, 1] rounded to Float32; PyTorch's float sin/cos may differ from the
    /// correctly rounded ones by an ulp, hence an absolute bound of a few ulps of 1.
    let tolerance = 3e-7

    func testTimestepEmbeddingOddDimFlipped() {
        let e = timestepEmbedding([0, 1, 250.5, 999], dim: 7, flipSinToCos: true, downscaleFreqShift: 0)
        assertClose(e, oddFlipped, shape: [4, 7], relative: 0, absolute: tolerance, "odd flipped embedding")
    }

    func testTimestepEmbeddingWide() {
        let e = timestepEmbedding([999, 17], dim: 320, flipSinToCos: false, downscaleFreqShift: 1)
        XCTAssertEqual(e.shape, [2, 320])
        let picked = (0..<2).flatMap { r in wideColumns.map { e.data[r * 320 + $0] } }
        assertClose(Tensor(shape: [2, wideColumns.count], data: picked), wide, shape: [2, wideColumns.count],
                    relative: 0, absolute: tolerance, "320-wide embedding")
    }

    func testTimestepEmbeddingScaleAndPeriod() {
        let e = timestepEmbedding([3.25, 640], dim: 10, flipSinToCos: false, downscaleFreqShift: 1,
                                  scale: 2.5, maxPeriod: 5000)
        assertClose(e, scaled, shape: [2, 10], relative: 0, absolute: tolerance, "scaled embedding")
    }

    func testSincosGridPutsColumnsFirst() {
        let p = sincos2DPositionalEmbedding(embedDim: 8, gridSize: 3, baseSize: 2, interpolationScale: 1.5)
        assertClose(p, smallGrid, shape: [9, 8], relative: 0, absolute: tolerance, "3x3 grid")
    }

    func testSincosDiTGrid() {
        let p = sincos2DPositionalEmbedding(embedDim: 1152, gridSize: 16, baseSize: 16, interpolationScale: 1)
        XCTAssertEqual(p.shape, [256, 1152])
        let picked = ditRows.flatMap { r in ditColumns.map { p.data[r * 1152 + $0] } }
        assertClose(Tensor(shape: [ditRows.count, ditColumns.count], data: picked), dit,
                    shape: [ditRows.count, ditColumns.count], relative: 0, absolute: tolerance, "DiT grid")
    }

    func testEmbeddingLookup() {
        let table = randomTensor([5, 3], seed: 1)
        let e = embedding([4, 0, 4, 2], table: table)
        XCTAssertEqual(e.shape, [4, 3])
        for (row, index) in [4, 0, 4, 2].enumerated() {
            XCTAssertEqual(Array(e.data[(row * 3)..<(row * 3 + 3)]), Array(table.data[(index * 3)..<(index * 3 + 3)]))
        }
    }
}
