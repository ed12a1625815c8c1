import TweedieCore

/// diffusers' DiTTransformer2DModel as a differentiable function on a `Tape`: the same structure and kernels as
/// the inference `DiTTransformer2DModel`, every parameter read by its diffusers name from a table of tape
/// variables. The output is the raw network output, learned-variance channels included.
///
///     let net = try DifferentiableDiT(config: config)
///     let weights = try DifferentiableDiT.initialParameters(config: config, seed: 0)
///     let tape = Tape()
///     let params = Dictionary(uniqueKeysWithValues: weights.map { ($0.0, tape.leaf($0.1, requiresGrad: true)) })
///     let out = try net.forward(tape, parameters: params, sample: tape.constant(x), timesteps: t, classLabels: y)
public struct DifferentiableDiT: NamedParameterList {
    /// The architecture.
    public let config: DiTConfig
    /// Every parameter as (diffusers name, shape), in the order the inference model loads them.
    public let parameterShapes: [(name: String, shape: [Int])]
    /// Recompute each block's attention and feed-forward in the backward pass instead of keeping their
    /// intermediates (`Tape.checkpoint`): less memory for about one more forward pass of compute.
    public var checkpointing: Bool

    private let blocks: [DiTTapeBlock]
    /// Positional embedding of the trained grid.
    private let positions: Tensor

    /// The network `config` describes.
    public init(config: DiTConfig, checkpointing: Bool = false) throws {
        self.config = config
        self.checkpointing = checkpointing
        // Building the inference model over a generating source enumerates exactly the tensors a checkpoint of
        // this config holds, under the names diffusers saves.
        let source = InitializingWeightSource(seed: 0) { _, _, _ in .constant(0) }
        _ = try DiTTransformer2DModel(config: config, store: WeightStore(source: source))
        parameterShapes = source.parameters.map { ($0.0, $0.1.shape) }
        let names = parameterShapes.map(\.name)
        blocks = (0..<config.numLayers).map { DiTTapeBlock(index: $0, config: config, names: names) }
        let grid = config.sampleSize / config.patchSize
        positions = sincos2DPositionalEmbedding(embedDim: config.innerDim, gridSize: grid, baseSize: grid,
                                                interpolationScale: 1)
    }

    /// Fresh parameters under diffusers' names with DiT's adaLN-Zero initialisation (`DiTInitialisation`: the
    /// blocks start as the identity and the output at zero), drawn from `seed`.
    public static func initialParameters(config: DiTConfig, seed: UInt64) throws -> [(String, Tensor)] {
        let source = InitializingWeightSource(seed: seed, rule: DiTInitialisation.rule)
        _ = try DiTTransformer2DModel(config: config, store: WeightStore(source: source))
        return source.parameters
    }

    /// The raw output [N, out_channels, H, W] for `sample` [N, C, H, W] (square, side divisible by the patch) at
    /// `timesteps` (one per sample, or one for all) with class labels in 0...num_embeds_ada_norm (the last one is
    /// the null class), recorded on `tape`. `parameters` maps every name in `parameterShapes` to a variable of
    /// `tape` (leaves that require gradients for training, constants otherwise).
    public func forward(_ tape: Tape, parameters: [String: Variable], sample: Variable, timesteps: [Float],
                        classLabels: [Int]?) throws -> Variable {
        let name = "DifferentiableDiT", c = config, p = c.patchSize
        try validate(parameters.mapValues(\.shape), source: name)
        guard sample.shape.count == 4, sample.shape[0] > 0, sample.shape[1] == c.inChannels else {
            throw TweedieError.badInput("\(name): sample must be [N, \(c.inChannels), H, W], got \(sample.shape)")
        }
        let n = sample.shape[0], size = sample.shape[2]
        guard sample.shape[3] == size, size % p == 0 else {
            throw TweedieError.badInput("\(name): sample must be square with a side divisible by the patch size "
                                        + "\(p), got \(sample.shape[2])x\(sample.shape[3])")
        }
        let times = timesteps.count == 1 ? [Float](repeating: timesteps[0], count: n) : timesteps
        guard times.count == n else { throw TweedieError.badInput("\(name): \(timesteps.count) timesteps for \(n)") }
        guard let given = classLabels else { throw TweedieError.badInput("\(name): class labels are required") }
        let labels = given.count == 1 ? [Int](repeating: given[0], count: n) : given
        guard labels.count == n else {
            throw TweedieError.badInput("\(name): \(given.count) class labels for a batch of \(n)")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 > c.numEmbedsAdaNorm }) {
            throw TweedieError.badInput("\(name): class label \(bad) outside 0..<\(c.numEmbedsAdaNorm + 1)")
        }
        let table = TapeParameters(values: parameters)
        let grid = size / p
        let pos = size == c.sampleSize ? positions
            : sincos2DPositionalEmbedding(embedDim: c.innerDim, gridSize: grid, baseSize: c.sampleSize / p,
                                          interpolationScale: 1)
        let patches = TapeLayers.conv(tape, table, "pos_embed.proj", sample, stride: p)
        var x = tape.addRows(tape.nchwToNLC(patches), tape.constant(pos))
        let tproj = tape.constant(timestepEmbedding(times, dim: DiTBlock.timestepProjDim, flipSinToCos: true,
                                                    downscaleFreqShift: 1))
        var first: Variable?
        for block in blocks {
            let cond = block.conditioning(tape, table, timestepProj: tproj, labels: labels)
            if first == nil { first = cond }
            x = run(block, tape, table, x, cond)
        }
        // diffusers conditions the final layer on the first block's embedding.
        let mod = tape.chunk(TapeLayers.linear(tape, table, "proj_out_1", tape.silu(first!)), 2, axis: 1)
        x = TapeLayers.linear(tape, table, "proj_out_2",
                              tape.modulate(tape.layerNorm(x, eps: 1e-6), shift: mod[0], scale: mod[1]))
        // Unpatchify, diffusers' einsum "nhwpqc->nchpwq".
        let out = c.outChannels
        let patched = tape.reshape(x, [n, grid, grid, p, p, out])
        return tape.reshape(tape.permute(patched, [0, 5, 1, 3, 2, 4]), [n, out, size, size])
    }

    /// One block's body, checkpointed when asked: its parameters then enter the region as inputs so the replay
    /// tape sees them as leaves.
    private func run(_ block: DiTTapeBlock, _ tape: Tape, _ p: TapeParameters, _ x: Variable,
                     _ cond: Variable) -> Variable {
        guard checkpointing else { return block.body(tape, p, x, conditioning: cond) }
        let names = block.bodyParameterNames
        return tape.checkpoint([x, cond] + names.map { p[$0] }) { sub, vs in
            var local: [String: Variable] = [:]
            for (i, name) in names.enumerated() { local[name] = vs[2 + i] }
            return block.body(sub, TapeParameters(values: local), vs[0], conditioning: vs[1])
        }
    }
}
