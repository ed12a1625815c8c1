import TweedieCore
import TweedieModels
import TweedieNoise
import TweedieTraining

/// The AutoencoderKL training loss for one micro-batch, as the latent diffusion autoencoders are trained without
/// their adversarial and perceptual terms:
///   z = μ + exp(½ log σ²)·ε (the posterior sample, log σ² clamped to [-30, 20] as diffusers does),
///   loss = mean |decode(z) − x| + w_KL · (1/N) Σ_n ½ Σ (μ² + σ² − 1 − log σ²).
/// The batch, ε and everything else are functions of (step, micro-batch) only: the data order is the trainer's
/// counter-based permutation at that position and ε is Philox noise keyed by it, so a resumed run recomputes
/// exactly what an uninterrupted one would.
public final class AutoencoderObjective: TuningObjective {
    public let metricNames = ["l1", "kl"]
    /// The network (its structure; the parameters come from the loop).
    public let vae: AutoencoderKL
    public let dataset: TrainingDataset
    public let recipe: AutoencoderRecipe
    /// Micro-batches per update (data positions advance by `batch` per micro-batch).
    public let accumulate: Int

    public init(vae: AutoencoderKL, dataset: TrainingDataset, recipe: AutoencoderRecipe, accumulate: Int = 1) {
        self.vae = vae
        self.dataset = dataset
        self.recipe = recipe
        self.accumulate = accumulate
    }

    /// The image indices of micro-batch `microBatch` of update `step`.
    public func indices(step: Int, microBatch: Int) -> [Int] {
        var order = DataOrder(count: dataset.count, seed: recipe.seed &+ 0x6461_7461,
                              position: (step * accumulate + microBatch) * recipe.batch)
        return order.next(recipe.batch)
    }

    public func evaluate(_ parameters: TuningParameters, step: Int, microBatch: Int) throws -> TuningEvaluation {
        let position = (step * accumulate + microBatch) * recipe.batch
        let images = dataset.batch(indices(step: step, microBatch: microBatch)).images
        let tape = Tape()
        let leaves = parameters.values.map { tape.leaf($0, requiresGrad: true) }
        let scope = ForwardScope(tape: tape, weights: vae.weights,
                                 given: Dictionary(uniqueKeysWithValues: zip(parameters.names, leaves)))
        let x = tape.constant(images)
        let (mean, rawLogVariance) = try vae.encodeMoments(scope, image: x)
        let logVariance = tape.clamp(rawLogVariance, -30, 20)
        let variance = tape.exponential(logVariance)
        let eps = try PhiloxNoise(seed: recipe.seed, firstImage: position)
            .normal(shape: mean.shape, purpose: .custom(12))
        let z = mean + tape.exponential(0.5 * logVariance) * tape.constant(eps)
        let decoded = try vae.decode(scope, latent: z)
        let l1 = tape.mean(tape.absoluteValue(tape.sub(decoded, x)))
        // The "−1" of the KL is a constant: it is added to the reported value below, not recorded.
        let n = Float(images.shape[0])
        let klVariable = (0.5 / n) * tape.sub(tape.sum(mean * mean) + tape.sum(variance), tape.sum(logVariance))
        let loss = l1 + recipe.klWeight * klVariable
        let grads = tape.gradients(of: loss, wrt: leaves)
        let kl = Double(klVariable.value.data[0]) - 0.5 * Double(mean.value.count) / Double(n)
        let l1Value = Double(l1.value.data[0])
        return TuningEvaluation(loss: l1Value + Double(recipe.klWeight) * kl, gradients: grads,
                                metrics: ["l1": l1Value, "kl": kl])
    }
}
