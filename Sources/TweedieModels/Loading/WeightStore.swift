import TweedieCore

/// Where a network's parameters come from while it is built: a checkpoint file (`SafeTensorsFile`), an in-memory
/// table (`TensorTableSource`), or a generator that creates each requested tensor (`InitializingWeightSource`).
/// Layers never see the source directly; they ask a `WeightStore`, which checks shapes and tracks what was taken.
public protocol WeightSource: AnyObject {
    /// Names the source in error messages (a file path, or a description such as "<initialiser seed 0>").
    var path: String { get }
    /// Names of the tensors the source holds (a generating source: those it has created so far).
    var names: [String] { get }
    /// Stored dtype and shape of `name`, nil when absent.
    func info(_ name: String) -> SafeTensorInfo?
    /// Stored dtype and shape `name` would have when a layer asks for it with `shape`; nil when the source cannot
    /// provide it. A file answers with `info(name)`; a generating source answers for any name.
    func lookup(_ name: String, expected shape: [Int]) -> SafeTensorInfo?
    /// Tensor `name`, read (or created) with exactly `shape` (which `lookup` reported).
    func tensor(_ name: String, shape: [Int]) throws -> Tensor
    /// I8 tensor `name` with exactly `shape` (quantized weights); sources without integer storage refuse.
    func int8Values(_ name: String, shape: [Int]) throws -> [Int8]
}

extension WeightSource {
    /// Sources that only hold what they hold answer `lookup` from `info`.
    public func lookup(_ name: String, expected shape: [Int]) -> SafeTensorInfo? { info(name) }

    /// Float sources hold no int8 tensors.
    public func int8Values(_ name: String, shape: [Int]) throws -> [Int8] {
        throw TweedieError.badInput("\(path): tensor '\(name)': this source holds no int8 tensors")
    }
}

extension SafeTensorsFile: WeightSource {
    public func int8Values(_ name: String, shape: [Int]) throws -> [Int8] { try int8s(name, shape: shape) }
}

/// Hands a source's tensors out by name, each checked against the shape the network built from the config
/// expects, and remembers which were taken so that `finish()` can report the ones nothing asked for.
/// Every failure is `TweedieError.badInput` naming the source (the safetensors file) and the tensor.
public final class WeightStore {
    /// Where the tensors come from.
    public let source: any WeightSource
    private var taken = Set<String>()
    /// Elements handed out so far (the model's parameter count once building is done).
    public private(set) var parameterCount = 0

    /// Wraps any weight source.
    public init(source: any WeightSource) { self.source = source }

    /// Wraps an opened safetensors file.
    public convenience init(file: SafeTensorsFile) { self.init(source: file) }

    /// The source under its historical name (a `SafeTensorsFile` when loading a folder).
    public var file: any WeightSource { source }

    /// Whether the source holds `name` (or, when given, its legacy spelling).
    public func contains(_ name: String, legacyName: String? = nil) -> Bool {
        source.info(name) != nil || (legacyName.map { source.info($0) != nil } ?? false)
    }

    /// The weight of the linear or convolution layer at `prefix` when the source stores it quantized: I8 values
    /// `<prefix>.weight` with `shape` and Float32 scales `<prefix>.weight_scale` [shape[0]] (`Int8Weights`); nil
    /// when the weight is stored as a float. A missing, mis-shaped or non-finite scale is `badInput` naming it.
    public func int8Weight(_ prefix: String, shape: [Int]) throws -> Int8Weights? {
        let name = prefix + ".weight"
        guard let info = source.info(name), info.dtype == "I8" else { return nil }
        let scaleName = prefix + Int8Weights.scaleSuffix
        guard let scaleInfo = source.info(scaleName) else {
            throw TweedieError.badInput("\(source.path): quantized weight '\(name)' has no scale tensor '\(scaleName)'")
        }
        guard scaleInfo.shape == [shape[0]] else {
            throw TweedieError.badInput("\(source.path): scale tensor '\(scaleName)' has shape \(scaleInfo.shape), "
                                        + "expected [\(shape[0])] (one per output channel)")
        }
        guard info.shape == shape else {
            throw TweedieError.badInput("\(source.path): tensor '\(name)' has shape \(info.shape), expected \(shape)")
        }
        let values = try source.int8Values(name, shape: shape)
        let scales = try source.tensor(scaleName, shape: [shape[0]]).data
        if let bad = scales.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw TweedieError.badInput("\(source.path): scale tensor '\(scaleName)': element \(bad) is \(scales[bad]) "
                                        + "(scales must be finite and >= 0)")
        }
        taken.insert(name)
        taken.insert(scaleName)
        parameterCount += values.count
        return try Int8Weights(shape: shape, values: values, scales: scales, source: source.path)
    }

    /// Tensor `name` with exactly `shape`. `legacyName` is the spelling old checkpoints used for the same tensor
    /// (e.g. `query.weight` for `to_q.weight`); it is taken when `name` is absent.
    public func tensor(_ name: String, shape: [Int], legacyName: String? = nil) throws -> Tensor {
        guard let (stored, info) = resolve(name, shape: shape, legacyName: legacyName) else {
            let also = legacyName.map { " (or legacy '\($0)')" } ?? ""
            throw TweedieError.badInput("\(source.path): missing tensor '\(name)'\(also), expected shape \(shape)")
        }
        var loadShape = shape
        if info.shape != shape {
            // Linear weights of converted old checkpoints are sometimes stored as 1x1 convolutions.
            guard shape.count == 2, info.shape == shape + [1, 1] else {
                throw TweedieError.badInput("\(source.path): tensor '\(stored)' has shape \(info.shape), "
                                            + "expected \(shape)")
            }
            loadShape = info.shape
        }
        let t = try source.tensor(stored, shape: loadShape)
        taken.insert(stored)
        parameterCount += t.count
        return loadShape == shape ? t : t.reshaped(shape)
    }

    /// Tensor `name` if the source has it, else nil; used where a module's parameter is optional
    /// (elementwise-affine norms, biases).
    public func optionalTensor(_ name: String, shape: [Int]) throws -> Tensor? {
        source.lookup(name, expected: shape) == nil ? nil : try tensor(name, shape: shape)
    }

    /// Stored dtype -> number of tensors with it, over the whole source.
    public var dtypes: [String: Int] {
        var out: [String: Int] = [:]
        for name in source.names { if let d = source.info(name)?.dtype { out[d, default: 0] += 1 } }
        return out
    }

    /// Throws naming the first tensor (and how many in all) that no layer asked for.
    public func finish(modelName: String) throws {
        let unexpected = source.names.filter { !taken.contains($0) }
        guard let first = unexpected.first else { return }
        let shape = source.info(first)?.shape ?? []
        let more = unexpected.count > 1 ? " and \(unexpected.count - 1) more" : ""
        throw TweedieError.badInput("\(source.path): unexpected tensor '\(first)' with shape \(shape)\(more), "
                                    + "not part of the \(modelName) its config.json describes")
    }

    private func resolve(_ name: String, shape: [Int], legacyName: String?) -> (String, SafeTensorInfo)? {
        if let info = source.lookup(name, expected: shape) { return (name, info) }
        if let legacy = legacyName, let info = source.lookup(legacy, expected: shape) { return (legacy, info) }
        return nil
    }
}
