import Foundation
import TweedieCore
import TweedieModels

/// The (class, seed) pairs a pruning run learns from, and what the unpruned model makes of them: pair i is class
/// `classes[i]` with trajectory i's noise (`generate --seed S --start-index i`). The unpruned model's final samples
/// (and, for the one-step loss, every intermediate state) are computed once and cached in the run's folder, so a
/// resumed run does not sample them again.
public final class CalibrationSet {
    /// File of the cached trajectories inside a run's folder.
    public static let cacheFile = "calibration.safetensors"
    /// Class of each pair (nil entries for an unconditional model).
    public let classes: [Int?]
    /// Final samples of the unpruned model [count, C, H, W].
    public let finals: Tensor
    /// States x_0 ... x_S of the unpruned trajectories [count, S + 1, C, H, W], when kept.
    public let states: Tensor?

    /// Pairs.
    public var count: Int { classes.count }

    /// The unpruned trajectories of `count` pairs (class of pair i: `classOf(i)`) under `sampler`'s stored gates,
    /// `batch` at a time, from the cache at `cachePath` when it holds the same `key` (the run's settings).
    /// `keepStates` keeps every intermediate state. `progress(done, count)` follows the sampling; `shouldStop`
    /// abandons it (nothing is written) and throws `CalibrationSet.Interrupted`.
    public init(sampler: PruningSampler, count: Int, classOf: (Int) -> Int?, batch: Int, keepStates: Bool,
                cachePath: String, key: String, progress: (Int, Int) -> Void = { _, _ in },
                shouldStop: () -> Bool = { false }) throws {
        let classes = (0..<count).map(classOf)
        self.classes = classes
        let shape = sampler.gates.model.sampleShape, per = shape.reduce(1, *), steps = sampler.steps
        if let file = try? SafeTensorsFile(path: cachePath), file.metadata["key"] == key,
           file.info("finals")?.shape == [count] + shape, !keepStates || file.info("states") != nil {
            finals = try file.tensor("finals")
            states = keepStates ? try file.tensor("states") : nil
            return
        }
        var finalData: [Float] = [], stateData: [Float] = []
        finalData.reserveCapacity(count * per)
        for start in stride(from: 0, to: count, by: batch) {
            if shouldStop() { throw Interrupted() }
            let indices = Array(start..<min(count, start + batch))
            let x = try sampler.initialNoise(indices)
            let labels = Self.labels(indices.map { classes[$0] })
            let all = sampler.states(x, labels: labels)
            finalData += all.last!.data
            if keepStates {
                for j in indices.indices {
                    for s in all { stateData += s.data[(j * per)..<((j + 1) * per)] }
                }
            }
            progress(indices.last! + 1, count)
        }
        finals = Tensor(shape: [count] + shape, data: finalData)
        states = keepStates ? Tensor(shape: [count, steps + 1] + shape, data: stateData) : nil
        var tensors = [("finals", finals)]
        if let states { tensors.append(("states", states)) }
        try FileManager.default.createDirectory(atPath: (cachePath as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try SafeTensorsWriter.write(tensors, metadata: ["key": key], to: cachePath)
    }

    /// Thrown when `shouldStop` ends the sampling of the targets.
    public struct Interrupted: Error {}

    /// The labels a batch of classes gives the network (nil for an unconditional model).
    static func labels(_ classes: [Int?]) -> [Int]? {
        classes.contains { $0 == nil } ? nil : classes.map { $0! }
    }

    /// The labels of `pairs`.
    public func labels(_ pairs: [Int]) -> [Int]? { Self.labels(pairs.map { classes[$0] }) }

    /// Rows `pairs` of `t` [count, ...].
    public static func rows(_ t: Tensor, _ pairs: [Int]) -> Tensor {
        let per = t.count / t.shape[0]
        var data: [Float] = []
        data.reserveCapacity(pairs.count * per)
        for i in pairs { data += t.data[(i * per)..<((i + 1) * per)] }
        return Tensor(shape: [pairs.count] + t.shape.dropFirst(), data: data)
    }

    /// State `step` of each of `pairs` [pairs, C, H, W].
    public func state(_ pairs: [Int], step: Int) -> Tensor {
        guard let states else { preconditionFailure("CalibrationSet: states were not kept") }
        let steps = states.shape[1], per = states.count / (states.shape[0] * steps)
        var data: [Float] = []
        for i in pairs { data += states.data[((i * steps + step) * per)..<((i * steps + step + 1) * per)] }
        return Tensor(shape: [pairs.count] + states.shape.dropFirst(2), data: data)
    }
}
