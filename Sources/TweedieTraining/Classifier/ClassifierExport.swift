import Foundation
import TweedieCore
import TweedieModels

/// Turns a finished classifier run into a model folder: weights + config, test-split evaluation, MODEL_CARD.md.
public enum ClassifierExport {
    /// Writes `trainer`'s weights and config into `directory`, evaluates them on `test` (the first `evalLimit`
    /// images, or all) and, when given, on `hueShifted`, and writes `MODEL_CARD.md` there. Returns the card.
    @discardableResult
    public static func export(_ trainer: ClassifierTrainer, to directory: String, test: TrainingDataset,
                              hueShifted: HueShiftedFashionDataset?, command: String,
                              evalLimit: Int? = nil) throws -> ClassifierModelCard {
        let recipe = trainer.recipe
        try ClassifierFolder.write(config: recipe.config, parameters: trainer.namedParameters, to: directory,
                                   metadata: ["recipe": recipe.jsonText, "step": String(trainer.state.step)])
        let model = try TweedieClassifier(folder: directory)
        let indices = Array(0..<min(test.count, evalLimit ?? test.count))
        let report = try ClassifierEvaluation.evaluate(model, on: test, indices: indices)
        let shifted = try hueShifted.map { try ClassifierEvaluation.evaluate(model, on: $0, indices: indices) }
        let last = lastLoggedWindow(trainer.outDirectory)
        let name = ((directory as NSString).standardizingPath as NSString).lastPathComponent
        let card = ClassifierModelCard(name: name, recipe: recipe, command: command, steps: trainer.state.step,
                                       trainCount: trainer.trainCount, trainSeconds: trainer.state.elapsedSeconds,
                                       threads: Runtime.threads, parameterCount: model.parameterCount,
                                       finalLoss: last?.loss, finalBatchAccuracy: last?.accuracy, test: report,
                                       hueShifted: shifted, hueShift: hueShifted?.shift ?? 0)
        let path = (directory as NSString).appendingPathComponent("MODEL_CARD.md")
        do {
            try card.markdown.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw TweedieError.badInput("\(path): cannot be written (\(error.localizedDescription))")
        }
        return card
    }

    /// The command line that reproduces `recipe` from scratch into `export` (run folder `out`), every setting
    /// spelled out.
    public static func command(_ recipe: ClassifierRecipe, out: String, export: String, threads: Int) -> String {
        let c = recipe.config
        var parts = ["tweedie train-classifier", "--out \(out)", "--export \(export)", "--epochs \(recipe.epochs)",
                     "--batch \(recipe.batch)", "--lr \(recipe.learningRate)", "--warmup \(recipe.warmupSteps)",
                     "--weight-decay \(recipe.weightDecay)", "--label-smoothing \(recipe.labelSmoothing)",
                     "--grad-clip \(recipe.gradClip)", "--seed \(recipe.seed)", "--colour-seed \(recipe.colourSeed)",
                     "--channels \(c.blockOutChannels.map(String.init).joined(separator: ","))",
                     "--layers-per-block \(c.layersPerBlock)", "--groups \(c.normNumGroups)"]
        if recipe.recolour > 0 { parts.append("--recolour \(recipe.recolour)") }
        if let limit = recipe.trainLimit { parts.append("--train-limit \(limit)") }
        parts.append("--threads \(threads)")
        return parts.joined(separator: " ")
    }

    /// Mean loss and batch accuracy of the last row of `<out>/loss.csv`.
    static func lastLoggedWindow(_ out: String) -> (loss: Double, accuracy: Double)? {
        let path = (out as NSString).appendingPathComponent("loss.csv")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").dropFirst().last else { return nil }
        let f = line.split(separator: ",")
        guard f.count >= 4, let l = Double(f[2]), let a = Double(f[3]) else { return nil }
        return (l, a)
    }
}
