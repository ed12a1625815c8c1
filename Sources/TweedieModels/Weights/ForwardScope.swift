import TweedieCore

/// One forward pass of a model on a tape: it turns parameter names into tape values and runs each linear or
/// convolution layer through its weight provider. For inference every parameter enters as a constant (the tape
/// then keeps no activations: with nothing to differentiate, ops record no pullbacks). For training, `given` maps
/// the parameters being learned to the trainer's leaves; any other parameter stays a constant.
public final class ForwardScope {
    /// The tape the pass records on.
    public let tape: Tape
    /// The model's parameters and providers.
    public let weights: ModelWeights
    private let given: [String: Variable]
    /// Inside a checkpointed region only the region's parameters may be used (see `checkpoint`).
    private let restricted: Bool
    private var made: [String: Variable] = [:]
    /// Whether `layer` recomputes each layer in the backward pass instead of keeping its intermediates (less
    /// memory for about one more forward pass of compute). Off inside a region.
    public var checkpointing = false
    /// Where int8 layers dequantize their weights in this pass (one buffer, the size of the largest layer).
    public private(set) lazy var dequantizationScratch = DequantizationScratch()

    /// A pass over `weights` on `tape`; `given` supplies tape variables for some (or all) parameters.
    public init(tape: Tape, weights: ModelWeights, given: [String: Variable] = [:]) {
        self.tape = tape
        self.weights = weights
        self.given = given
        restricted = false
    }

    private init(tape: Tape, weights: ModelWeights, region: [String: Variable]) {
        self.tape = tape
        self.weights = weights
        given = region
        restricted = true
    }

    /// Parameter `name` as a tape value (the model was built with it, so a miss is a programming error).
    public func param(_ name: String) -> Variable {
        guard let v = optionalParam(name) else { preconditionFailure("ForwardScope: no parameter '\(name)'") }
        return v
    }

    /// Parameter `name` if the model has it (biases and affine parameters a config may switch off).
    public func optionalParam(_ name: String) -> Variable? {
        if let v = given[name] { return v }
        if let v = made[name] { return v }
        guard let t = weights.tensors[name] else { return nil }
        // In a checkpointed region a parameter outside the region's inputs would silently lose its gradient.
        precondition(!restricted, "ForwardScope: parameter '\(name)' used in a checkpointed region it is not part of")
        let v = tape.constant(t)
        made[name] = v
        return v
    }

    /// y = x·Wᵀ + b of the linear layer at `prefix`, through its provider.
    public func linear(_ prefix: String, _ x: Variable) -> Variable {
        if let p = weights.providers[prefix] { return p.linear(prefix, x, in: self) }
        return tape.linear(x, param(prefix + ".weight"), optionalParam(prefix + ".bias"))
    }

    /// The convolution at `prefix` (weight [O, I, k, k]), through its provider.
    public func conv2d(_ prefix: String, _ x: Variable, stride: Int = 1, padding: Int = 0) -> Variable {
        if let p = weights.providers[prefix] { return p.conv2d(prefix, x, stride: stride, padding: padding, in: self) }
        return tape.conv2d(x, param(prefix + ".weight"), optionalParam(prefix + ".bias"), stride: stride,
                           padding: padding)
    }

    /// One layer (resnet, attention, resampler, transformer block) on `inputs`: a checkpointed region of the
    /// parameters under `prefix` when `checkpointing` is on, else a plain call.
    public func layer(_ prefix: String, _ inputs: [Variable],
                      _ body: @escaping (ForwardScope, [Variable]) -> Variable) -> Variable {
        checkpoint(checkpointing, prefixes: [prefix], inputs: inputs, body)
    }

    /// Runs `body` as a checkpointed region when `enabled` (recomputed in the backward pass, keeping none of its
    /// intermediates): the parameters under `prefixes` enter the region as inputs, so their gradients are exactly
    /// those of the plain pass. `body` receives the scope to use and `inputs` as seen inside the region.
    public func checkpoint(_ enabled: Bool, prefixes: [String], inputs: [Variable],
                           _ body: @escaping (ForwardScope, [Variable]) -> Variable) -> Variable {
        guard enabled else { return body(self, inputs) }
        let table = weights
        let names = prefixes.flatMap { table.names(under: $0) }
        let outer = names.map { param($0) }
        let count = inputs.count
        return tape.checkpoint(inputs + outer) { sub, vs in
            var region: [String: Variable] = [:]
            for (i, name) in names.enumerated() { region[name] = vs[count + i] }
            return body(ForwardScope(tape: sub, weights: table, region: region), Array(vs[0..<count]))
        }
    }
}
