/// Reconstructions without a prior, the floor every diffusion solver must beat.
public enum Baselines {
    /// The adjoint (zero-filled for MRI) reconstruction Aᴴ y scaled by the scalar c that best fits the data,
    /// c = ⟨A Aᴴ y, y⟩ / ‖A Aᴴ y‖² (1 for masked MRI and inpainting, s² for box down-sampling; it brings CT's
    /// back-projection to the image's scale). Uses y only, never the truth.
    public static func adjoint(_ op: LinearOperator, _ y: Buffer) -> Buffer {
        let x = op.adjoint(y)
        let ax = op.apply(x)
        let den = BufferMath.squaredNorm(ax)
        guard den > 0 else { return x }
        return BufferMath.scaled(x, Float(BufferMath.dot(ax, y).re / den))
    }

    /// Tikhonov-regularised least squares, argmin ‖A x − y‖² + λ‖x‖², by `iterations` CG steps on
    /// (AᴴA + λI) x = Aᴴ y from zero. `relativeLambda` is λ / ‖AᴴA‖₂ (estimated by `OperatorNorm`), so one value
    /// suits operators of any scale.
    public static func tikhonov(_ op: LinearOperator, _ y: Buffer, relativeLambda: Double,
                                iterations: Int) -> (x: Buffer, lambda: Double) {
        let lambda = relativeLambda * OperatorNorm.normalSquared(op)
        let b = op.adjoint(y)
        let result = ConjugateGradient.solve({ v in BufferMath.lincomb(op.normal(v), 1, v, Float(lambda)) },
                                             b: b, x0: op.zeroDomain(), iterations: iterations, tolerance: 0)
        return (result.x, lambda)
    }
}

/// ‖A‖₂² = largest eigenvalue of AᴴA by power iteration from a fixed start vector (deterministic).
public enum OperatorNorm {
    /// The estimate after `iterations` steps.
    public static func normalSquared(_ op: LinearOperator, iterations: Int = 30) -> Double {
        var v = op.zeroDomain()
        for i in 0..<v.data.count { v.data[i] = 1 + 0.5 * Float((i * 7919) % 13) / 13 }
        var lambda = 0.0
        for _ in 0..<iterations {
            let n = BufferMath.squaredNorm(v).squareRoot()
            guard n > 0 else { return 0 }
            v = BufferMath.scaled(v, Float(1 / n))
            let w = op.normal(v)
            lambda = BufferMath.dot(v, w).re
            v = w
        }
        return lambda
    }
}
