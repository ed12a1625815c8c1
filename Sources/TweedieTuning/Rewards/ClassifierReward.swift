import TweedieCore
import TweedieModels

/// `classifier:N`: the mean log-probability of class N under a TweedieClassifier (the bundled judge
/// assets/classifier32/shape), log softmax(judge(clamp(x, −1, 1)))[N]. The judge runs on the images' tape with its
/// weights as constants, so the gradient reaches the pixels and, through the sampler, the LoRA factors. Pixels are
/// clamped to the range the judge was trained on (and a PNG can hold).
public struct ClassifierReward: DifferentiableReward {
    /// The judge.
    public let judge: TweedieClassifier
    /// The class whose log-probability is raised.
    public let target: Int

    public var name: String { "classifier:\(target)" }

    /// Class `target` under `judge`; a class outside the judge's is `badInput` naming its classes.
    public init(judge: TweedieClassifier, target: Int) throws {
        let k = judge.config.numClasses
        guard (0..<k).contains(target) else {
            throw TweedieError.badInput("--reward classifier:\(target): the judge has classes 0..<\(k) ("
                                        + judge.config.classNames.enumerated().map { "\($0) \($1)" }
                                            .joined(separator: ", ") + ")")
        }
        self.judge = judge
        self.target = target
    }

    public func check(sampleShape: [Int]) throws {
        let c = judge.config
        guard sampleShape == [c.inChannels, c.sampleSize, c.sampleSize] else {
            throw TweedieError.badInput("reward \(name): the judge reads [\(c.inChannels), \(c.sampleSize), "
                                        + "\(c.sampleSize)] images, the model makes \(sampleShape)")
        }
    }

    public func reward(_ images: Variable) throws -> Variable {
        try check(sampleShape: Array(images.shape.dropFirst()))
        let t = images.tape, n = images.shape[0], k = judge.config.numClasses
        let logits = try judge.logits(ForwardScope(tape: t, weights: judge.weights), images: t.clamp(images, -1, 1))
        // Picking column `target` and averaging over the batch: a product with a constant one-hot / N mask.
        var pick = Tensor(shape: [n, k])
        for i in 0..<n { pick.data[i * k + target] = 1 / Float(n) }
        return t.sum(t.mul(t.logSoftmax(logits), t.constant(pick)))
    }
}
