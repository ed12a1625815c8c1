import TweedieCore

/// Hands a checkpoint's tensors out by name, each checked against the shape the network built from the config
/// expects, and remembers which were taken so that `finish()` can report the ones nothing asked for.
/// Every failure is `TweedieError.badInput` naming the safetensors file and the tensor.
public final class WeightStore {
    /// The checkpoint being read.
    public let file: SafeTensorsFile
    private var taken = Set<String>()
    /// Elements handed out so far (the model's parameter count once building is done).
    public private(set) var parameterCount = 0

    /// Wraps an opened safetensors file.
    public init(file: SafeTensorsFile) { self.file = file }

    /// Whether the checkpoint holds `name` (or, when given, its legacy spelling).
    public func contains(_ name: String, legacyName: String? = nil) -> Bool {
        file.info(name) != nil || (legacyName.map { file.info($0) != nil } ?? false)
    }

    /// Tensor `name` with exactly `shape`. `legacyName` is the spelling old checkpoints used for the same tensor
    /// (e.g. `query.weight` for `to_q.weight`); it is taken when `name` is absent.
    public func tensor(_ name: String, shape: [Int], legacyName: String? = nil) throws -> Tensor {
        guard let stored = resolve(name, legacyName: legacyName) else {
            let also = legacyName.map { " (or legacy '\($0)')" } ?? ""
            throw TweedieError.badInput("\(file.path): missing tensor '\(name)'\(also), expected shape \(shape)")
        }
        guard let info = file.info(stored) else { preconditionFailure("resolved name \(stored) vanished") }
        var loadShape = shape
        if info.shape != shape {
            // Linear weights of converted old checkpoints are sometimes stored as 1x1 convolutions.
            guard shape.count == 2, info.shape == shape + [1, 1] else {
                throw TweedieError.badInput("\(file.path): tensor '\(stored)' has shape \(info.shape), "
                                            + "expected \(shape)")
            }
            loadShape = info.shape
        }
        let t = try file.tensor(stored, shape: loadShape)
        taken.insert(stored)
        parameterCount += t.count
        return loadShape == shape ? t : t.reshaped(shape)
    }

    /// Tensor `name` if the checkpoint has it, else nil; used where a module's parameter is optional
    /// (elementwise-affine norms, biases).
    public func optionalTensor(_ name: String, shape: [Int]) throws -> Tensor? {
        file.info(name) == nil ? nil : try tensor(name, shape: shape)
    }

    /// Stored dtype -> number of tensors with it, over the whole file.
    public var dtypes: [String: Int] {
        var out: [String: Int] = [:]
        for name in file.names { if let d = file.info(name)?.dtype { out[d, default: 0] += 1 } }
        return out
    }

    /// Throws naming the first tensor (and how many in all) that no layer asked for.
    public func finish(modelName: String) throws {
        let unexpected = file.names.filter { !taken.contains($0) }
        guard let first = unexpected.first else { return }
        let shape = file.info(first)?.shape ?? []
        let more = unexpected.count > 1 ? " and \(unexpected.count - 1) more" : ""
        throw TweedieError.badInput("\(file.path): unexpected tensor '\(first)' with shape \(shape)\(more), "
                                    + "not part of the \(modelName) its config.json describes")
    }

    private func resolve(_ name: String, legacyName: String?) -> String? {
        if file.info(name) != nil { return name }
        if let legacy = legacyName, file.info(legacy) != nil { return legacy }
        return nil
    }
}
