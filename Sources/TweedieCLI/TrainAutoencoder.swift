import ArgumentParser
import Foundation
import Tweedie

extension TrainCommand {
    /// The AutoencoderKL recipe this invocation trains (from `--recipe`, or the checkpoint `--resume` continues),
    /// or nil when it trains a denoiser.
    func autoencoderRecipe() throws -> AutoencoderRecipe? {
        if resume, let stored = try AutoencoderTraining.storedRecipe(out: out) { return stored }
        guard let recipe, let data = FileManager.default.contents(atPath: recipe) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard AutoencoderRecipe.describesAutoencoder(text) else { return nil }
        return try AutoencoderRecipe(text: text, source: recipe, baseDirectory: (recipe as NSString).deletingLastPathComponent)
    }

    /// `tweedie train` of an AutoencoderKL: the recipe, then the flags that apply to it, then the shared loop.
    func runAutoencoder(_ base: AutoencoderRecipe) throws {
        var r = base
        for (flag, given) in [("--model-config", modelConfig != nil), ("--sample-every", sampleEvery != nil),
                              ("--label-dropout", labelDropout != nil), ("--prediction", prediction != nil),
                              ("--gradient-checkpointing", gradientCheckpointing), ("--vae", vae != nil)] where given {
            throw TweedieError.badInput("\(flag) does not apply to an AutoencoderKL recipe")
        }
        if let data { r.data = data }
        if let steps { r.steps = steps }
        try optimiser.apply(to: &r)
        if let d = try decay() { r.lrDecay = d }
        if let initFrom { r.initFrom = initFrom }
        let training = try AutoencoderTraining(recipe: r, dataset: try TrainingData.named(r.data), outDirectory: out,
                                               resume: resume)
        training.loop.log = { line in fputs(line + "\n", stderr) }
        fputs("autoencoder: \(training.loop.state.parameters.count) parameters, step \(training.loop.state.step)/"
              + "\(r.steps), \(Runtime.threads) thread(s)\n", stderr)
        if try training.loop.run(stopAfter: optimiser.stopAfter, shouldStop: { GenerateInterrupt.requested }) {
            fputs("tweedie: interrupted at step \(training.loop.state.step)/\(r.steps); continue with --resume\n", stderr)
            throw ExitCode(GenerateInterrupt.signalExitCode)
        }
        fputs(String(format: "done: step %d, peak RSS %.1f MB; model folder %@\n", training.loop.state.step,
                     PeakMemory.megabytes, (out as NSString).appendingPathComponent("model")), stderr)
    }

    /// `--lr-decay`, when given.
    func decay() throws -> LearningRateSchedule.Decay? {
        guard let lrDecay else { return nil }
        guard let d = LearningRateSchedule.Decay(rawValue: lrDecay) else {
            throw TweedieError.badInput("--lr-decay: must be cosine or constant, got \(lrDecay)")
        }
        return d
    }
}
