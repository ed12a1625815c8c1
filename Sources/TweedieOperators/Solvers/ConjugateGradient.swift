/// Conjugate gradients for a Hermitian positive (semi-)definite system A x = b given as a closure, with
/// *conjugated* inner products ⟨u, v⟩ = Σ conj(uᵢ) vᵢ (in Double), so complex Hermitian systems converge. (The
/// recurrence with plain transposes, as DDS's `CG` writes it, is COCG: meant for complex-symmetric matrices, it
/// stalls or diverges on Hermitian ones; the tests show both.) On real buffers this is ordinary CG.
public enum ConjugateGradient {
    /// Outcome of a solve.
    public struct Result {
        /// The iterate.
        public var x: Buffer
        /// Iterations run.
        public var iterations: Int
        /// ‖b − A x‖ of the returned iterate, as the recurrence tracks it.
        public var residualNorm: Double
    }

    /// Runs at most `iterations` steps from `x0`, stopping early once ‖r‖ < `tolerance` (absolute, DDS's 1e-5).
    public static func solve(_ operator: (Buffer) -> Buffer, b: Buffer, x0: Buffer, iterations: Int,
                             tolerance: Double = 1e-5) -> Result {
        var x = x0
        var r = BufferMath.sub(b, `operator`(x))
        var p = r
        var rho = BufferMath.squaredNorm(r)
        var done = 0
        while done < iterations, rho.squareRoot() >= tolerance {
            let q = `operator`(p)
            let pq = BufferMath.dot(p, q)
            let den = pq.re * pq.re + pq.im * pq.im
            guard den > 0, den.isFinite else { break }
            // α = ρ / ⟨p, q⟩ (real for a Hermitian operator; kept complex so rounding cannot bias it).
            let alpha = (re: rho * pq.re / den, im: x.isComplex ? -rho * pq.im / den : 0)
            BufferMath.axpy(alpha, p, &x)
            BufferMath.axpy((-alpha.re, -alpha.im), q, &r)
            let next = BufferMath.squaredNorm(r)
            p = BufferMath.lincomb(r, 1, p, Float(next / rho))
            rho = next
            done += 1
        }
        return Result(x: x, iterations: done, residualNorm: rho.squareRoot())
    }
}
