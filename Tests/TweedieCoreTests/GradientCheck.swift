import XCTest
import TweedieTestSupport
import TweedieCore

// Finite-difference gradient checking for the autodiff tests. The forward runs in Float32; the scalar objective
// ⟨w, f(x)⟩ (w a fixed random cotangent) is summed in Double and differentiated numerically.

/// Deterministic test numbers (SplitMix64), uniform in [-1, 1).
struct GradientRandom {
    private var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 1) }
    mutating func next() -> Float { rng.signedUnitFloat() }
}

/// A tensor of uniform values in [-scale, scale) (plus `offset`) from `seed`.
func gradientTestTensor(_ shape: [Int], seed: UInt64, scale: Float = 1, offset: Float = 0) -> Tensor {
    var g = GradientRandom(seed: seed)
    return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in g.next() * scale + offset })
}

/// Gradient check of `f` at `inputs`: the tape's vector-Jacobian product with a random cotangent is compared
/// with five-point differences of ⟨w, f⟩ along random directions (every input), and element by element for
/// inputs with at most `elementwiseLimit` entries. Inputs with `differentiable[i] == false` enter as constants.
/// Fails the test when a relative error exceeds `tolerance` (NaN always fails); returns the largest error seen
/// (printed too). `asserting: false` only measures (the NaN tests of the checker itself use it).
@discardableResult
func checkGradients(_ name: String, _ inputs: [Tensor], differentiable: [Bool]? = nil, h: Float = 1e-2,
                    tolerance: Double = 1e-2, directions: Int = 3, elementwiseLimit: Int = 160,
                    asserting: Bool = true,
                    file: StaticString = #filePath, line: UInt = #line,
                    _ f: (Tape, [Variable]) -> Variable) -> Double {
    let wants = differentiable ?? inputs.map { _ in true }
    let tape = Tape()
    let leaves = zip(inputs, wants).map { tape.leaf($0, requiresGrad: $1) }
    let y = f(tape, leaves)
    let w = gradientTestTensor(y.shape, seed: 991)
    tape.backward(seeds: [(y, w)])
    let grads = leaves.map { $0.grad ?? Tensor(shape: $0.shape) }

    func objective(_ xs: [Tensor]) -> Double {
        let t = Tape()
        let out = f(t, xs.map { t.constant($0) }).value
        XCTAssertEqual(out.shape, y.shape, "\(name): output shape changed", file: file, line: line)
        var s = 0.0
        for i in 0..<out.count { s += Double(w.data[i]) * Double(out.data[i]) }
        return s
    }
    /// Five-point central difference of ⟨w, f⟩ along `v` (truncation error O(h⁴), so the whole-tensor directions
    /// stay accurate through norms and softmax) and the analytic ⟨g, v⟩.
    func compare(_ i: Int, _ v: Tensor) -> (numeric: Double, analytic: Double) {
        func shifted(_ k: Float) -> [Tensor] {
            var xs = inputs
            for j in 0..<v.count where v.data[j] != 0 { xs[i].data[j] += k * h * v.data[j] }
            return xs
        }
        let d1 = objective(shifted(1)) - objective(shifted(-1)), d2 = objective(shifted(2)) - objective(shifted(-2))
        var analytic = 0.0
        for j in 0..<v.count { analytic += Double(grads[i].data[j]) * Double(v.data[j]) }
        return ((8 * d1 - d2) / (12 * Double(h)), analytic)
    }

    // Rounding noise of a central difference: the Float32 forward carries relative errors of a few ulp on each
    // term of ⟨w, f⟩, so differences below ~1e-6·Σ|w·f|/h are noise (this matters for exactly-zero gradients,
    // such as that of a key bias through softmax).
    let noise = 2e-6 * zip(w.data, y.value.data).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) } / Double(h)
    var worst = 0.0
    var rng = GradientRandom(seed: 4242)
    for (i, x) in inputs.enumerated() where wants[i] {
        let gNorm = grads[i].data.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        for _ in 0..<directions {
            let v = Tensor(shape: x.shape, data: (0..<x.count).map { _ in rng.next() })
            let (num, ana) = compare(i, v)
            // Floor: 1000× below the typical projection ‖g‖‖v‖/√n = ‖g‖/√3, so it cannot hide a wrong gradient.
            let floor = max(1e-3 * gNorm / 3.0.squareRoot(), noise) + 1e-12
            let err = abs(num - ana) / max(abs(num), abs(ana), floor)
            worst = nanMax(worst, err)
            if asserting {
                assertMeasured(err, tolerance: tolerance, "gradient \(name): input \(i) directional derivative "
                               + "\(num) vs \(ana)", file: file, line: line)
            }
        }
        guard x.count <= elementwiseLimit else { continue }
        let scale = max(Double(grads[i].maxAbs), noise, 1e-12)
        var elementWorst = 0.0
        for j in 0..<x.count {
            var e = Tensor(shape: x.shape)
            e.data[j] = 1
            let (num, ana) = compare(i, e)
            elementWorst = nanMax(elementWorst, abs(num - ana) / scale)
        }
        worst = nanMax(worst, elementWorst)
        if asserting {
            assertMeasured(elementWorst, tolerance: tolerance, "gradient \(name): input \(i) element-wise",
                           file: file, line: line)
        }
    }
    print("gradient check \(name): max relative error \(String(format: "%.2e", worst))")
    return worst
}
