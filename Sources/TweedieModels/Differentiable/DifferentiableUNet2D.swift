import TweedieCore

/// diffusers' UNet2DModel as a differentiable function on a `Tape`: the same structure and kernels as the
/// inference `UNet2DModel`, with every parameter read by its diffusers name from a table of tape variables, so
/// gradients reach the weights (training) and the input (guidance, inversion).
///
///     let net = try DifferentiableUNet2D(config: config)
///     let weights = try DifferentiableUNet2D.initialParameters(config: config, seed: 0)
///     let tape = Tape()
///     let params = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, tape.leaf($0.1, requiresGrad: true)) })
///     let out = try net.forward(tape, parameters: params, sample: tape.constant(x), timesteps: t, classLabels: nil)
public struct DifferentiableUNet2D: NamedParameterList {
    /// The architecture.
    public let config: UNet2DConfig
    /// Every parameter as (diffusers name, shape), in the order the inference model loads them.
    public let parameterShapes: [(name: String, shape: [Int])]
    /// Recompute each resnet and attention layer in the backward pass instead of keeping its intermediates
    /// (`Tape.checkpoint`): less memory for about one more forward pass of compute.
    public var checkpointing: Bool

    private let plan: UNetPlan

    /// The network `config` describes (`sample_size` is required, as for the inference model).
    public init(config: UNet2DConfig, checkpointing: Bool = false) throws {
        self.config = config
        self.checkpointing = checkpointing
        // Building the inference model over a generating source enumerates exactly the tensors a checkpoint of
        // this config holds, under the names diffusers saves.
        let source = InitializingWeightSource(seed: 0) { _, _, _ in .constant(0) }
        _ = try UNet2DModel(config: config, store: WeightStore(source: source), configPath: "<config>")
        parameterShapes = source.parameters.map { ($0.0, $0.1.shape) }
        plan = UNetPlan(config: config, names: parameterShapes.map(\.name))
    }

    /// Freshly initialised parameters with PyTorch's module defaults (see `InitializingWeightSource`), drawn from
    /// `seed`, under diffusers' names.
    public static func initialParameters(config: UNet2DConfig, seed: UInt64) throws -> [(String, Tensor)] {
        let source = InitializingWeightSource(seed: seed)
        _ = try UNet2DModel(config: config, store: WeightStore(source: source), configPath: "<config>")
        return source.parameters
    }

    /// The raw network output for `sample` [N, C, H, W] at `timesteps` (one per sample, or one for all) with
    /// optional class labels, recorded on `tape`. `parameters` maps every name in `parameterShapes` to a variable
    /// of `tape` (leaves that require gradients for training, constants otherwise).
    public func forward(_ tape: Tape, parameters: [String: Variable], sample: Variable, timesteps: [Float],
                        classLabels: [Int]?) throws -> Variable {
        try validate(parameters.mapValues(\.shape), source: "DifferentiableUNet2D")
        let c = config, name = "DifferentiableUNet2D"
        guard sample.shape.count == 4, sample.shape[1] == c.inChannels, sample.shape[0] > 0 else {
            throw TweedieError.badInput("\(name): sample must be [N, \(c.inChannels), H, W], got \(sample.shape)")
        }
        let n = sample.shape[0]
        let factor = 1 << (c.blockOutChannels.count - 1)
        guard sample.shape[2] % factor == 0, sample.shape[3] % factor == 0 else {
            throw TweedieError.badInput("\(name): sample size \(sample.shape[2])x\(sample.shape[3]) is not "
                                        + "divisible by \(factor)")
        }
        let times = timesteps.count == 1 ? [Float](repeating: timesteps[0], count: n) : timesteps
        guard times.count == n else { throw TweedieError.badInput("\(name): \(timesteps.count) timesteps for \(n)") }
        let p = TapeParameters(values: parameters)
        let ch0 = c.blockOutChannels[0]
        func sinusoid(_ values: [Float]) -> Variable {
            tape.constant(timestepEmbedding(values, dim: ch0, flipSinToCos: c.flipSinToCos,
                                            downscaleFreqShift: c.freqShift))
        }
        func mlp(_ prefix: String, _ x: Variable) -> Variable {
            TapeLayers.linear(tape, p, prefix + ".linear_2", tape.silu(TapeLayers.linear(tape, p, prefix + ".linear_1", x)))
        }
        var emb = mlp("time_embedding", sinusoid(times))
        switch c.classEmbedding {
        case .none:
            if classLabels != nil { throw TweedieError.badInput("\(name): class labels given to an unconditional model") }
        case .table(let count):
            let labels = try checkedLabels(classLabels, batch: n, count: count)
            emb = tape.add(emb, tape.embedding(labels, table: p["class_embedding.weight"]))
        case .timestep:
            let labels = try checkedLabels(classLabels, batch: n, count: nil)
            emb = tape.add(emb, mlp("class_embedding", sinusoid(labels.map { Float($0) })))
        }
        let temb = TapeLayers.activation(tape, c.actFn, emb)

        var h = sample
        if c.centerInputSample {
            h = tape.sub(tape.scale(h, 2), tape.constant(Tensor(shape: h.shape, repeating: 1)))
        }
        h = TapeLayers.conv(tape, p, "conv_in", h, padding: 1)
        var skips = [h]
        for block in plan.down {
            for unit in block.units {
                h = run(unit.resnet, tape, p, h, temb)
                if let a = unit.attention { h = run(a, tape, p, h, temb) }
                skips.append(h)
            }
            if let d = block.downsampler {
                h = run(d, tape, p, h, temb)
                skips.append(h)
            }
        }
        for layer in plan.mid { h = run(layer, tape, p, h, temb) }
        for block in plan.up {
            for unit in block.units {
                h = run(unit.resnet, tape, p, tape.concat([h, skips.removeLast()], axis: 1), temb)
                if let a = unit.attention { h = run(a, tape, p, h, temb) }
            }
            if let u = block.upsampler { h = run(u, tape, p, h, temb) }
        }
        h = tape.silu(TapeLayers.groupNorm(tape, p, "conv_norm_out", h, groups: c.normNumGroups, eps: c.normEps))
        return TapeLayers.conv(tape, p, "conv_out", h, padding: 1)
    }

    /// One layer, checkpointed when asked: its parameters then enter the region as inputs so the replay tape
    /// sees them as leaves.
    private func run(_ layer: UNetPlan.Layer, _ tape: Tape, _ p: TapeParameters, _ x: Variable,
                     _ temb: Variable) -> Variable {
        guard checkpointing else { return layer.apply(tape, p, x, temb) }
        let names = layer.parameterNames
        return tape.checkpoint([x, temb] + names.map { p[$0] }) { sub, vs in
            var local: [String: Variable] = [:]
            for (i, name) in names.enumerated() { local[name] = vs[2 + i] }
            return layer.apply(sub, TapeParameters(values: local), vs[0], vs[1])
        }
    }

    private func checkedLabels(_ labels: [Int]?, batch n: Int, count: Int?) throws -> [Int] {
        guard let labels else { throw TweedieError.badInput("DifferentiableUNet2D: class labels are required") }
        let all = labels.count == 1 ? [Int](repeating: labels[0], count: n) : labels
        guard all.count == n else {
            throw TweedieError.badInput("DifferentiableUNet2D: \(labels.count) class labels for a batch of \(n)")
        }
        for l in all where l < 0 || (count.map { l >= $0 } ?? false) {
            throw TweedieError.badInput("DifferentiableUNet2D: class label \(l) outside 0..<\(count ?? Int.max)")
        }
        return all
    }
}
