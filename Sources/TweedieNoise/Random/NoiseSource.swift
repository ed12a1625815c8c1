import TweedieCore

/// Why a noise tensor is drawn. Keyed sources (Philox) give every purpose its own independent stream, so the
/// ancestral noise of step 7 does not depend on how many draws came before it; sequential sources (torch's
/// generator, a replay list) ignore it and hand out draws in call order.
public enum NoisePurpose: Equatable, Sendable {
    /// The starting latent.
    case initial
    /// Fresh noise injected by an ancestral/SDE sampler at step `i`.
    case step(Int)
    /// Any other stream the caller wants to keep apart (e.g. img2img noising).
    case custom(UInt32)
}

/// A source of standard normal noise for a batch. `shape` is batch first ([N, ...]).
/// Class-bound so samplers can draw from it without `inout` plumbing.
public protocol NoiseSource: AnyObject {
    /// Returns a tensor of `shape` filled with independent N(0, 1) samples.
    func normal(shape: [Int], purpose: NoisePurpose) throws -> Tensor
}

/// Replays a fixed list of noise tensors in call order (reference runs, tests); runs out -> `TweedieError.runtime`.
public final class ReplayNoise: NoiseSource {
    private var queue: [Tensor]
    private var next = 0
    /// Number of tensors handed out so far.
    public var consumed: Int { next }

    /// A source that hands out `tensors` one per call, in order.
    public init(_ tensors: [Tensor]) { self.queue = tensors }

    public func normal(shape: [Int], purpose: NoisePurpose) throws -> Tensor {
        guard next < queue.count else {
            throw TweedieError.runtime("ReplayNoise: draw \(next + 1) requested (\(purpose)) but only \(queue.count) stored")
        }
        let t = queue[next]
        guard t.count == shape.reduce(1, *) else {
            throw TweedieError.runtime("ReplayNoise: draw \(next + 1) holds \(t.count) values, \(shape) requested")
        }
        next += 1
        return t.reshaped(shape)
    }
}

/// A source that refuses to draw: for deterministic samplers, so an accidental draw is an error, not a silent seed.
public final class NoNoise: NoiseSource {
    public init() {}
    public func normal(shape: [Int], purpose: NoisePurpose) throws -> Tensor {
        throw TweedieError.runtime("NoNoise: \(purpose) noise requested from a deterministic run")
    }
}
