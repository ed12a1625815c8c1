import TweedieCore

/// A denoising network as diffusers defines it: (noisy sample, timesteps, optional class labels) -> raw output.
public protocol DiffusionModel: AnyObject {
    /// [C, H, W] of one sample at the trained resolution.
    var sampleShape: [Int] { get }
    /// Channels of the input sample.
    var inChannels: Int { get }
    /// Channels of the raw output (2 x in for a learned-sigma DiT).
    var outChannels: Int { get }
    /// Number of class labels the model was trained with; nil for an unconditional model.
    var numClassEmbeds: Int? { get }
    /// Elements over all loaded weight tensors.
    var parameterCount: Int { get }
    /// Runs the whole batch at once: sample [N, C, H, W], one timestep per sample (a single value is broadcast),
    /// class labels for class-conditional models. Returns the raw network output [N, outChannels, H, W].
    func forward(_ sample: Tensor, timesteps: [Float], classLabels: [Int]?) throws -> Tensor
}

/// Input checks shared by the denoisers; every failure is `badInput` naming the argument.
enum ForwardInputs {
    /// Validates the sample's rank/channels (`shape`) and returns one timestep per sample.
    static func timesteps(_ shape: [Int], _ timesteps: [Float], channels: Int, model: String) throws -> [Float] {
        guard shape.count == 4, shape[0] > 0 else {
            throw TweedieError.badInput("\(model): sample must be [N, C, H, W], got \(shape)")
        }
        guard shape[1] == channels else {
            throw TweedieError.badInput("\(model): sample has \(shape[1]) channels, the model takes \(channels)")
        }
        let n = shape[0]
        if timesteps.count == 1 { return [Float](repeating: timesteps[0], count: n) }
        guard timesteps.count == n else {
            throw TweedieError.badInput("\(model): \(timesteps.count) timesteps for a batch of \(n)")
        }
        return timesteps
    }

    /// Validates class labels against the batch and the label range `0..<count` (count nil: any label >= 0).
    static func labels(_ labels: [Int]?, batch n: Int, count: Int?, model: String) throws -> [Int] {
        guard let labels else { throw TweedieError.badInput("\(model): class labels are required") }
        let all = labels.count == 1 ? [Int](repeating: labels[0], count: n) : labels
        guard all.count == n else {
            throw TweedieError.badInput("\(model): \(labels.count) class labels for a batch of \(n)")
        }
        for l in all where l < 0 || (count.map { l >= $0 } ?? false) {
            throw TweedieError.badInput("\(model): class label \(l) outside 0..<\(count ?? Int.max)")
        }
        return all
    }
}
