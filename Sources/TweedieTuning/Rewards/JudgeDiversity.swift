import TweedieCore
import TweedieModels

/// Diversity of a set of images as the judge sees them: the mean Euclidean distance between the pooled features
/// (`TweedieClassifier.features`) of every pair. A reward the model learns to hack (one colour, one garment)
/// pulls the samples together, and this falls.
public enum JudgeDiversity {
    /// Mean pairwise distance of the feature rows of `features` [N, D] (N >= 2), summed in Double.
    public static func meanPairwiseDistance(_ features: Tensor) throws -> Double {
        guard features.rank == 2, features.shape[0] >= 2 else {
            throw TweedieError.badInput("diversity: needs at least two images, got \(features.shape.first ?? 0)")
        }
        let (n, d) = (features.shape[0], features.shape[1])
        var total = 0.0
        features.withUnsafeBufferPointer { f in
            for i in 0..<n {
                for j in (i + 1)..<n {
                    var s = 0.0
                    for k in 0..<d {
                        let diff = Double(f[i * d + k]) - Double(f[j * d + k])
                        s += diff * diff
                    }
                    total += s.squareRoot()
                }
            }
        }
        return total / Double(n * (n - 1) / 2)
    }

    /// The judge's diversity of `images` [N, C, S, S] in [-1, 1] (clamped to that range first, as PNGs are).
    public static func of(_ images: Tensor, judge: TweedieClassifier) throws -> Double {
        let clamped = Tensor(shape: images.shape, data: images.data.map { min(max($0, -1), 1) })
        return try meanPairwiseDistance(judge.features(clamped))
    }
}
