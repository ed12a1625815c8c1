import TweedieCore

/// What a sample is conditioned on. Class labels are per sample of the batch; `nil` means every sample is
/// unconditional, and an entry equal to `Condition.nullLabel` makes that one sample unconditional. Which class id a
/// network uses for "no class" is a property of the wrapper (e.g. `VPDenoiser.nullClass`), not of the condition.
public struct Condition: Equatable, Sendable {
    /// Marks one sample of a batch as unconditional.
    public static let nullLabel = -1
    /// Per-sample class labels, or nil for an unconditional batch.
    public var classLabels: [Int]?

    /// A condition on the given class labels (nil: unconditional).
    public init(classLabels: [Int]? = nil) { self.classLabels = classLabels }

    /// The unconditional condition.
    public static let unconditional = Condition()

    /// The unconditional counterpart for a batch of `count` samples.
    public static func null(count: Int) -> Condition { Condition(classLabels: [Int](repeating: nullLabel, count: count)) }

    /// Labels for a batch of `count` samples, with nil expanded to null labels.
    public func labels(count: Int) -> [Int] { classLabels ?? [Int](repeating: Condition.nullLabel, count: count) }

    /// The condition of two batches stacked along the batch axis (`self` first).
    public func concatenated(with other: Condition, counts: (Int, Int)) -> Condition {
        if classLabels == nil && other.classLabels == nil { return .unconditional }
        return Condition(classLabels: labels(count: counts.0) + other.labels(count: counts.1))
    }
}

/// The k-diffusion denoiser contract: D(x, sigma) -> x0. `x` lives in sigma space (x = x0 + sigma * eps), batch
/// first ([N, ...]); the result is the model's estimate of the clean sample, same shape. Samplers see only this.
public protocol Denoiser {
    /// Estimates the clean sample for every item of the batch `x` at noise level `sigma`.
    func denoise(_ x: Tensor, sigma: Float, condition: Condition) throws -> Tensor
}

/// A denoiser defined by a closure, handy for analytic models and tests.
public struct ClosureDenoiser: Denoiser {
    /// The denoising function D(x, sigma, condition).
    public let body: (Tensor, Float, Condition) throws -> Tensor
    /// Wraps `body` as a denoiser.
    public init(_ body: @escaping (Tensor, Float, Condition) throws -> Tensor) { self.body = body }
    public func denoise(_ x: Tensor, sigma: Float, condition: Condition) throws -> Tensor {
        try body(x, sigma, condition)
    }
}
