import Foundation
import TweedieCore
import TweedieModels
import TweedieOperators
import XCTest

/// Helpers for the operator tests. Errors propagate NaN (a NaN or infinity anywhere makes the error NaN), and
/// every assertion is `XCTAssertTrue(err <= tol)`, which a NaN fails.
enum OpSupport {
    /// The committed fixture of scripts/make_operator_fixtures.py.
    static func fixture() throws -> SafeTensorsFile {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/operators.safetensors").path
        return try SafeTensorsFile(path: path)
    }

    /// A real fixture tensor as a buffer of `shape` (the stored shape when nil).
    static func real(_ f: SafeTensorsFile, _ name: String) throws -> Buffer { Buffer(try f.tensor(name)) }

    /// A complex buffer from `<name>_re` / `<name>_im`.
    static func complex(_ f: SafeTensorsFile, _ name: String) throws -> Buffer {
        let re = try f.tensor(name + "_re"), im = try f.tensor(name + "_im")
        return Buffer(shape: re.shape, real: re.data, imag: im.data)
    }

    /// max |a − b| / max |b| over the floats of two buffers; NaN when either holds a non-finite value.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "relativeError: \(a.count) vs \(b.count) floats")
        var num = 0.0, den = 0.0
        for i in 0..<a.count {
            guard a[i].isFinite, b[i].isFinite else { return .nan }
            let d = abs(Double(a[i]) - Double(b[i]))
            if d > num { num = d }
            if abs(Double(b[i])) > den { den = abs(Double(b[i])) }
        }
        return num / max(den, 1e-300)
    }

    /// `relativeError` of two buffers of the same kind and shape.
    static func relativeError(_ a: Buffer, _ b: Buffer) -> Double {
        guard a.isComplex == b.isComplex, a.shape == b.shape else { return .nan }
        return relativeError(a.data, b.data)
    }

    /// Random buffer, entries uniform in [−1, 1).
    static func random(shape: [Int], complex: Bool, seed: UInt64) -> Buffer {
        var rng = SplitMix64(seed: seed)
        var b = Buffer(shape: shape, isComplex: complex)
        for i in 0..<b.data.count { b.data[i] = Float(2 * rng.uniform() - 1) }
        return b
    }

    /// Dot-product test: |⟨A x, y⟩ − ⟨x, Aᴴ y⟩| / |⟨A x, y⟩| with y = A x′ + r (so the product is not a
    /// cancellation-sized number), over the real part and, for complex domains, the imaginary part too.
    static func adjointError(_ op: LinearOperator, seed: UInt64) -> Double {
        let x = random(shape: op.domainShape, complex: op.domainIsComplex, seed: seed)
        let x2 = random(shape: op.domainShape, complex: op.domainIsComplex, seed: seed + 1)
        let r = random(shape: op.rangeShape, complex: op.rangeIsComplex, seed: seed + 2)
        let y = BufferMath.add(op.apply(x2), BufferMath.scaled(r, 0.1))
        let lhs = BufferMath.dot(op.apply(x), y), rhs = BufferMath.dot(x, op.adjoint(y))
        let scale = (lhs.re * lhs.re + lhs.im * lhs.im).squareRoot()
        let diff = op.domainIsComplex
            ? ((lhs.re - rhs.re) * (lhs.re - rhs.re) + (lhs.im - rhs.im) * (lhs.im - rhs.im)).squareRoot()
            : abs(lhs.re - rhs.re)
        guard scale.isFinite, diff.isFinite, scale > 0 else { return .nan }
        return diff / scale
    }

    /// Number of differing entries (NaN-safe: a NaN differs).
    static func mismatches(_ a: [Float], _ b: [Float]) -> Int {
        guard a.count == b.count else { return max(a.count, b.count) }
        return zip(a, b).filter { !($0 == $1) }.count
    }
}
