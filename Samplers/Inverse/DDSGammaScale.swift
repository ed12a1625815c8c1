import TweedieOperators

extension DecomposedDiffusionSampler {
    /// The data weight DDS's proximal step (I + γ AᴴA) x = x̂0 + γ Aᴴ y needs with Tweedie's exact operators to act as
    /// the official code's γ does.
    ///
    /// DDS's γ = 1 is tuned for operators whose AᴴA is a projection (eigenvalues 0 and 1: MRI's M F with an
    /// orthonormal FFT, inpainting's mask); there the step moves x̂0 halfway to the data on the measured subspace.
    /// Two of Tweedie's operators are scaled differently, and the proximal system is not invariant to that scale
    /// (the noise-free branch AᴴA x = Aᴴ y is):
    ///
    /// - `ParallelBeamCT`: the official code's "AT" is the back-projection times π/(2·views), so its system is
    ///   (I + γ·π/(2·views) AᵀA) with the exact transpose.
    /// - `DownsampleOperator` (box mean by s): A Aᴴ = I/s², so AᴴA is 1/s² times the projection onto block-constant
    ///   images and γ = 1 would move x̂0 only 1/(s² + 1) of the way (6 % at x4: DDS then returns an almost free
    ///   sample). Scaling by s² is DDS on the row-orthonormal operator s·A (with y scaled alike), whose AᴴA is
    ///   that projection.
    ///
    /// Every other operator's AᴴA has eigenvalues in [0, 1] with 1 attained (masks, orthonormal FFTs, coil maps
    /// with Σ|S_c|² = 1, blur kernels of unit DC gain), so γ stays as given.
    public static func effectiveGamma(_ gamma: Float, for op: LinearOperator) -> Float {
        if let ct = op as? ParallelBeamCT { return gamma * Float(ct.officialGammaScale) }
        if let sr = op as? DownsampleOperator { return gamma * Float(sr.factor * sr.factor) }
        return gamma
    }
}
