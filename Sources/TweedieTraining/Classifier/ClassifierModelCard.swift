import Foundation
import TweedieCore
import TweedieData
import TweedieModels

/// The MODEL_CARD.md of a trained classifier folder: data recipe, exact command, training budget and the
/// test-split results.
public struct ClassifierModelCard {
    /// The folder's name (the card's title).
    public var name: String
    /// The run's settings.
    public var recipe: ClassifierRecipe
    /// The command that reproduces the folder from scratch.
    public var command: String
    /// Optimiser steps taken and images in the training set used.
    public var steps: Int
    public var trainCount: Int
    /// Wall-clock seconds of the training steps (all sessions) and worker threads used.
    public var trainSeconds: Double
    public var threads: Int
    /// Elements over all weights.
    public var parameterCount: Int
    /// Mean training loss and batch accuracy over the last logged window, if any.
    public var finalLoss: Double?
    public var finalBatchAccuracy: Double?
    /// Results on the colourised test split, and on the same images painted in another class's hue.
    public var test: ClassifierReport
    public var hueShifted: ClassifierReport?
    public var hueShift: Int

    /// A card for a finished run.
    public init(name: String, recipe: ClassifierRecipe, command: String, steps: Int, trainCount: Int,
                trainSeconds: Double, threads: Int, parameterCount: Int, finalLoss: Double?,
                finalBatchAccuracy: Double?, test: ClassifierReport, hueShifted: ClassifierReport?, hueShift: Int) {
        self.name = name
        self.recipe = recipe
        self.command = command
        self.steps = steps
        self.trainCount = trainCount
        self.trainSeconds = trainSeconds
        self.threads = threads
        self.parameterCount = parameterCount
        self.finalLoss = finalLoss
        self.finalBatchAccuracy = finalBatchAccuracy
        self.test = test
        self.hueShifted = hueShifted
        self.hueShift = hueShift
    }

    /// The card as Markdown.
    public var markdown: String {
        let c = recipe.config
        let minutes = trainSeconds / 60, perStep = trainSeconds / Double(max(1, steps))
        func plural(_ n: Int) -> String { n == 1 ? "" : "s" }
        var s = """
        # \(name) — TweedieClassifier for colourised Fashion-MNIST

        A small CNN that classifies 32x32 RGB images in [-1, 1] into the ten Fashion-MNIST classes, trained by
        Tweedie's own autodiff. It judges class-conditional samples of models trained on the same data
        (`tweedie classify --model <this folder> IMG.png ...`).

        ## Results (colourised test split, \(test.count) images)

        - **Test accuracy: \(String(format: "%.2f%%", 100 * test.accuracy))** (\(test.correct) / \(test.count))

        """
        if let h = hueShifted {
            let k = h.classNames.count
            let hueHits = h.confusion.indices.reduce(0) { $0 + h.confusion[$1][($1 + hueShift) % k] }
            s += """
            - Hue-shifted test accuracy: \(String(format: "%.2f%%", 100 * h.accuracy)) — the same test images \
            painted in the hue of class (label + \(hueShift)) mod \(k), scored against their true label; \
            \(String(format: "%.2f%%", 100 * Double(hueHits) / Double(max(1, h.count)))) were predicted as the class \
            whose hue they carry. The hue gives the class away in this data (class k at hue k/10, jitter ±0.03), so \
            this shows how much the network reads the garment's shape rather than its colour (chance is 10%).

            """
            if h.accuracy < 0.5 {
                s += """
                - **The network mostly reads the class off the hue.** It checks whether an image has its class's \
                colour, not whether the garment's shape is right; train with `--recolour 1` for a judge of shape.

                """
            }
        }
        s += """

        Confusion matrix (rows: true class, columns: predicted label):

        \(test.markdownTable)

        ## Architecture

        - `_class_name`: \(ClassifierConfig.className); in_channels \(c.inChannels), sample_size \(c.sampleSize), \
        block_out_channels \(c.blockOutChannels), layers_per_block \(c.layersPerBlock), GroupNorm \
        \(c.normNumGroups) groups (eps \(c.normEps)).
        - Per stage: \(c.layersPerBlock)x (3x3 conv → GroupNorm → SiLU), 2x2 average pooling between stages, \
        global average pooling, linear head to \(c.numClasses) logits.
        - Parameters: \(parameterCount) (Float32, `model.safetensors`).
        - Classes: \(c.classNames.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", ")).

        ## Data

        - Fashion-MNIST train split (`/usr/share/datasets/fashion-mnist`, Debian package dataset-fashion-mnist), \
        \(trainCount) images, colourised by recipe `\(ClassLinkedHue.recipe)` with colour seed \(recipe.colourSeed): \
        2-pixel black border to 32x32; hue = class/10 with ±0.03 jitter, saturation 0.55–0.95 and value 0.8–1.0 \
        drawn per sample index (TweedieTraining/Data/ClassLinkedHue.swift).
        """
        if recipe.recolour > 0 {
            s += """
             Then \(String(format: "%g", 100 * recipe.recolour))% of the training images (chosen per index from seed \
            \(recipe.seed)) are painted in the hue of a uniformly random class with their label unchanged \
            (`--recolour \(recipe.recolour)`, RecolouredFashionDataset), so the hue no longer gives the class away.
            """
        }
        s += """
         No other augmentation.
        - Test: \(test.count == 10_000 ? "the 10,000-image test split" : "the first \(test.count) test images") \
        under the same recipe and seed.

        ## Training

        - Softmax cross-entropy (label smoothing \(recipe.labelSmoothing)), AdamW (lr \(recipe.learningRate), \
        betas 0.9/0.999, weight decay \(recipe.weightDecay)), \(recipe.warmupSteps) warm-up steps then half-cosine \
        to 0, gradient-norm clip \(recipe.gradClip), batch \(recipe.batch), PyTorch-default initialisation and \
        per-epoch data permutations from seed \(recipe.seed).
        - \(recipe.epochs) epoch\(plural(recipe.epochs)) = \(steps) steps on \(threads) thread\(plural(threads)); wall \
        time of the training steps \(String(format: "%.1f", minutes)) min (\(String(format: "%.3f", perStep)) \
        s/step, on a 2-core machine shared with another training run).

        """
        if let l = finalLoss, let a = finalBatchAccuracy {
            s += "- Final training loss \(String(format: "%.4f", l)), batch accuracy \(String(format: "%.3f", a)) "
                + "(mean over the last logged window).\n"
        }
        s += """

        ## Reproduce

        ```
        \(command)
        ```

        The run writes checkpoints every \(recipe.checkpointEvery) steps under its `--out` folder; rerunning the \
        command with `--resume` continues from the newest one. With one thread the result is deterministic.

        """
        return s
    }
}
