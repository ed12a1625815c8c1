import TweedieCore

/// torch.randn-exact noise with one generator per image, diffusers' `generator=[torch.Generator().manual_seed(s)
/// for s in seeds]` convention: every draw of shape [N, ...] is N draws of [1, ...], image i from generator i. So
/// an image's noise does not depend on the rest of the batch and can be re-made alone.
public final class PerImageTorchNoise: NoiseSource {
    private let generators: [TorchRandn]

    /// One generator per seed, in batch order.
    public init(seeds: [UInt64]) { generators = seeds.map { TorchRandn(seed: $0) } }

    public func normal(shape: [Int], purpose: NoisePurpose) throws -> Tensor {
        guard let n = shape.first, n == generators.count else {
            throw TweedieError.runtime("PerImageTorchNoise: draw of shape \(shape) for \(generators.count) generators")
        }
        var one = shape
        one[0] = 1
        let per = shape.dropFirst().reduce(1, *)
        var data = [Float]()
        data.reserveCapacity(n * per)
        for g in generators { data += g.randn(one).data }
        return Tensor(shape: shape, data: data)
    }
}
