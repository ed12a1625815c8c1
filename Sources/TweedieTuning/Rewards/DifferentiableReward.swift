import TweedieCore

/// A score of images that gradients can flow through: reward backpropagation maximises it. Images arrive as the
/// sampler's decoded output, [N, C, H, W] nominally in [-1, 1] (values beyond are possible: a reward that reads
/// pixels in a range clamps them itself), recorded on a tape; the reward records its computation on the same tape
/// and returns the batch mean as a 0-d value, so d reward / d images, and from there d reward / d LoRA factors,
/// come from one backward pass. A reward is written once: `tweedie finetune` maximises it and `tweedie score`
/// reports it for PNGs.
///
///     /// Mean brightness: the whole reward is one tape op.
///     struct Brightness: DifferentiableReward {
///         let name = "brightness"
///         func check(sampleShape: [Int]) throws {}
///         func reward(_ images: Variable) throws -> Variable { images.tape.mean(images) }
///     }
///     RewardRegistry.register("brightness", help: "mean pixel value") { _, _ in Brightness() }
public protocol DifferentiableReward {
    /// The name `--reward` takes, with its argument if any (e.g. "classifier:3").
    var name: String { get }
    /// Throws `badInput` when images of shape [C, H, W] cannot be scored (channels, a judge's size).
    func check(sampleShape: [Int]) throws
    /// The mean reward of `images` [N, C, H, W] as a 0-d value on the images' tape.
    func reward(_ images: Variable) throws -> Variable
}

extension DifferentiableReward {
    /// The reward of each image of `images` [N, C, H, W] (each scored alone, without gradients).
    public func scores(_ images: Tensor) throws -> [Float] {
        try check(sampleShape: Array(images.shape.dropFirst()))
        let n = images.shape[0], per = images.count / max(1, n)
        return try (0..<n).map { i in
            let tape = Tape()
            let one = Tensor(shape: [1] + Array(images.shape.dropFirst()),
                             data: Array(images.data[i * per..<(i + 1) * per]))
            return try reward(tape.constant(one)).value.data[0]
        }
    }
}

/// What a reward may need besides its argument: where the judge of `classifier:N` lives.
public struct RewardContext {
    /// Folder of the TweedieClassifier `classifier:N` scores with (the bundled assets/classifier32/shape).
    public var judgeFolder: String?

    /// A context naming the judge folder.
    public init(judgeFolder: String? = nil) { self.judgeFolder = judgeFolder }
}
