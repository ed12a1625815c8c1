import Foundation
import Tweedie

extension GenerateCommand {
    /// The run's settings: the defaults (or, with --from, the stored recipe), then every flag given explicitly.
    /// `recipe` is the --from PNG's.
    /// Values that depend on the model (label names, default guidance) are resolved against `generator`.
    func resolveSettings(base recipe: ImageRecipe?, generator: ImageGenerator) throws -> GenerationSettings {
        var s = recipe?.settings ?? GenerationSettings()
        let remaking = recipe != nil
        if let v = sampler { s.sampler = v }
        if let v = steps { s.steps = v }
        if let v = schedule {
            s.schedule = v
            s.sigmas = nil
        }
        if let text = sigmas {
            let list = try parseNumbers(text, flag: "--sigmas") as [Float]
            s.schedule = "custom"
            s.sigmas = list
            // The step count follows the list (a trailing 0 is the end point, not a step start).
            s.steps = max(1, list.last == 0 ? list.count - 1 : list.count)
            if let given = steps, given != s.steps {
                throw TweedieError.badInput("--steps \(given) contradicts --sigmas, which gives \(s.steps) steps")
            }
        }
        if let v = guidance { s.guidance = v } else if !remaking { s.guidance = generator.defaultGuidance }
        if let v = cfgScale { s.cfgScale = v }
        for (key, v) in try GuiderFlags.values(guidanceParams) { s.guidanceParameters[key] = v }
        if let text = guidanceInterval {
            let pair = try parseNumbers(text, flag: "--guidance-interval") as [Double]
            guard pair.count == 2 else {
                throw TweedieError.badInput("--guidance-interval must be START,STOP, got \(text)")
            }
            s.guidanceInterval = pair
        }
        if let v = eta { s.eta = v }
        if let v = rng { s.rng = v }
        if let v = precision { s.precision = v == ComputePrecision.float32.rawValue ? nil : v }
        if let v = seed {
            guard v >= -1 else { throw TweedieError.badInput("--seed must be >= 0 (or -1 for random), got \(v)") }
            s.seed = v == -1 ? randomSeed() : UInt64(v)
        } else if !remaking {
            s.seed = randomSeed()
        }
        if let v = startIndex { s.startIndex = v }
        // A recipe holds its image's own seed at start index 0. Re-making it, the run starts at the image's index
        // with the seed that many below, which gives the same seed and noise and also the same file number and
        // stored index, so the PNG comes out byte for byte.
        if let recipe, seed == nil, startIndex == nil, recipe.index > 0, s.seed >= UInt64(recipe.index) {
            s.seed -= UInt64(recipe.index)
            s.startIndex = recipe.index
        }
        if classID != nil && label != nil { throw TweedieError.badInput("--class and --label: give one") }
        if let e = generator.pipeline.embedding {
            s.embedding = absolute(e.path)
            // The concept is what an embedding is given for: every image shows it unless a class is asked for.
            if !remaking { s.classID = e.classID }
        }
        if let v = classID { s.classID = v }
        if let name = label { s.classID = try generator.pipeline.classes.classID(forLabel: name) }
        if let path = latents {
            s.latents = absolute(path)
            // Re-making, the recipe's offset says which sample of the file the image started from.
            if !remaking { s.latentsOffset = 0 }
        } else if remaking, let stored = s.latents {
            // A PNG from elsewhere must not make the engine read a file it names.
            guard trustPaths else {
                throw TweedieError.badInput("--from \(from!): the image was made from the latents file "
                                            + "\((stored as NSString).lastPathComponent); give --latents FILE (or "
                                            + "--trust-paths to use the stored path)")
            }
            s.latents = absolute(stored)
        }
        if let v = batchCount {
            s.batchCount = v
        } else if latents != nil && !remaking {
            s.batchCount = try LatentsFile.count(path: s.latents!)
        }
        return s
    }

    /// Seeds drawn when none is given stay below 2^32, short enough to type back in.
    private func randomSeed() -> UInt64 { UInt64.random(in: 0...UInt64(UInt32.max)) }

    private func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path
            : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (full as NSString).standardizingPath
    }

    /// A comma-separated list of numbers; anything else is `badInput` naming `flag`.
    private func parseNumbers<T: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String, flag: String) throws -> [T] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map {
            let item = $0.trimmingCharacters(in: .whitespaces)
            guard let v = T(item), v.isFinite else {
                throw TweedieError.badInput("\(flag): '\(item)' is not a finite number (expected a comma-separated list)")
            }
            return v
        }
    }
}
