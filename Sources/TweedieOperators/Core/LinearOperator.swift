/// A linear forward model y = A x with its exact adjoint Aᴴ, the contract data consistency, CG, DDS and DPS are
/// written against. Inner products are real parts of Hermitian products, so an operator from a real image to
/// complex k-space (an ℝ-linear map) has the adjoint Re(Aᴴ y) and the identity ⟨A x, y⟩ = ⟨x, Aᴴ y⟩ holds in
/// every case the dot-product tests check.
///
/// One call maps one item (`domainShape` in, `rangeShape` out); callers loop over a batch.
public protocol LinearOperator {
    /// Shape of x.
    var domainShape: [Int] { get }
    /// Whether x is complex.
    var domainIsComplex: Bool { get }
    /// Shape of y.
    var rangeShape: [Int] { get }
    /// Whether y is complex.
    var rangeIsComplex: Bool { get }
    /// y = A x.
    func apply(_ x: Buffer) -> Buffer
    /// x = Aᴴ y.
    func adjoint(_ y: Buffer) -> Buffer
    /// y + σ n for standard normal `normals` (a buffer of the range's shape and kind: real and imaginary parts
    /// each N(0, 1)), restricted to entries the operator really measures (sampled k-space, observed pixels).
    func addNoise(to y: Buffer, sigma: Float, normals: Buffer) -> Buffer
}

extension LinearOperator {
    public func addNoise(to y: Buffer, sigma: Float, normals: Buffer) -> Buffer {
        precondition(normals.shape == y.shape && normals.isComplex == y.isComplex,
                     "addNoise: noise \(normals.shape) for measurements \(y.shape)")
        return BufferMath.lincomb(y, 1, normals, sigma)
    }

    /// The normal operator x ↦ Aᴴ A x.
    public func normal(_ x: Buffer) -> Buffer { adjoint(apply(x)) }

    /// A zero buffer of the domain.
    public func zeroDomain() -> Buffer { Buffer(shape: domainShape, isComplex: domainIsComplex) }

    /// A zero buffer of the range.
    public func zeroRange() -> Buffer { Buffer(shape: rangeShape, isComplex: rangeIsComplex) }

    /// Checks that `x` fits the domain (for preconditions in conforming types).
    func checkDomain(_ x: Buffer, _ name: String) {
        precondition(x.shape == domainShape && x.isComplex == domainIsComplex,
                     "\(name).apply: input \(x.shape) (complex \(x.isComplex)), expected \(domainShape) "
                     + "(complex \(domainIsComplex))")
    }

    /// Checks that `y` fits the range.
    func checkRange(_ y: Buffer, _ name: String) {
        precondition(y.shape == rangeShape && y.isComplex == rangeIsComplex,
                     "\(name).adjoint: input \(y.shape) (complex \(y.isComplex)), expected \(rangeShape) "
                     + "(complex \(rangeIsComplex))")
    }
}
