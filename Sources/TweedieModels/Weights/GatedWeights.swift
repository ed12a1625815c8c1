import TweedieCore

/// Structural gates on the input units of a layer: each gate multiplies a group of `groupSize` consecutive input
/// columns of the weight (an attention head's slice of `to_out`, one feed-forward neuron of `ff.net.2`, a norm
/// group of a resnet's `conv2`). The gates live in the table as `<prefix>.gates` [in / groupSize], so a pruning
/// method trains them while the weights stay frozen. Gates of 1 compute exactly the plain layer; a gate of 0
/// removes its units, which an export can then cut out of the network (`Narrowing`).
public final class GatedWeights: WeightProvider {
    /// Input columns per gate.
    public let groupSize: Int

    /// A provider over gates already in the table.
    public init(groupSize: Int) { self.groupSize = groupSize }

    /// Adds gates of 1 to the layer at `prefix` of `weights` and installs the provider.
    @discardableResult
    public static func attach(to weights: ModelWeights, layer prefix: String, groupSize: Int) throws -> GatedWeights {
        guard let w = weights.tensors[prefix + ".weight"], groupSize > 0, w.shape[1] % groupSize == 0 else {
            throw TweedieError.badInput("gates: layer '\(prefix)' has no weight with input units in groups of \(groupSize)")
        }
        weights.insert(prefix + ".gates", Tensor(shape: [w.shape[1] / groupSize], repeating: 1))
        let p = GatedWeights(groupSize: groupSize)
        weights.setProvider(p, for: prefix)
        return p
    }

    private func weight(_ prefix: String, _ s: ForwardScope) -> Variable {
        s.tape.gateInputs(s.param(prefix + ".weight"), gates: s.param(prefix + ".gates"), groupSize: groupSize)
    }

    public func linear(_ prefix: String, _ x: Variable, in s: ForwardScope) -> Variable {
        s.tape.linear(x, weight(prefix, s), s.optionalParam(prefix + ".bias"))
    }

    public func conv2d(_ prefix: String, _ x: Variable, stride: Int, padding: Int, in s: ForwardScope) -> Variable {
        s.tape.conv2d(x, weight(prefix, s), s.optionalParam(prefix + ".bias"), stride: stride, padding: padding)
    }
}
