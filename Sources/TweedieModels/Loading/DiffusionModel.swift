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
    /// How the model reads class labels, and where its null ("no class") id sits.
    var classConditioning: ClassConditioning { get }
    /// Elements over all loaded weight tensors.
    var parameterCount: Int { get }
    /// Runs the whole batch at once: sample [N, C, H, W], one timestep per sample (a single value is broadcast),
    /// class labels for class-conditional models. Returns the raw network output [N, outChannels, H, W].
    func forward(_ sample: Tensor, timesteps: [Float], classLabels: [Int]?) throws -> Tensor
    /// The same network recorded on `scope`'s tape (gradients to the input, or to whatever parameters the scope
    /// supplies as leaves).
    func forward(_ scope: ForwardScope, sample: Variable, timesteps: [Float], classLabels: [Int]?) throws -> Variable
    /// The parameters (and weight providers) every forward pass reads.
    var weights: ModelWeights { get }
}

extension DiffusionModel {
    /// Inference: the tape pass with the model's own weights as constants (no pullbacks are recorded).
    public func forward(_ sample: Tensor, timesteps: [Float], classLabels: [Int]?) throws -> Tensor {
        let tape = Tape()
        return try forward(ForwardScope(tape: tape, weights: weights), sample: tape.constant(sample),
                           timesteps: timesteps, classLabels: classLabels).value
    }

    /// The network on `tape` with its own weights as constants: d output / d sample for guidance and inverse
    /// problems (DPS).
    public func forward(tape: Tape, sample: Variable, timesteps: [Float], classLabels: [Int]?) throws -> Variable {
        try forward(ForwardScope(tape: tape, weights: weights), sample: sample, timesteps: timesteps,
                    classLabels: classLabels)
    }
}

/// How a denoiser reads class labels: what pipelines need to map classes and guidance onto it, whatever its kind.
public struct ClassConditioning: Sendable, Equatable {
    /// The label ids the network's embedding takes.
    public enum Table: Sendable, Equatable {
        /// No class input.
        case none
        /// Ids 0..<count (for a DiT: its real classes; its null id is `count`, past the table).
        case ids(Int)
        /// Any id >= 0 (a timestep-style class embedding).
        case any
    }

    /// The ids the embedding holds.
    public let table: Table
    /// The id trained as "no class" (for classifier-free guidance), if any.
    public let defaultNull: Int?
    /// Whether a null id sits one past the table (DiT's extra row) rather than inside it.
    public let nullPastTable: Bool

    public init(table: Table, defaultNull: Int?, nullPastTable: Bool) {
        self.table = table
        self.defaultNull = defaultNull
        self.nullPastTable = nullPastTable
    }
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
