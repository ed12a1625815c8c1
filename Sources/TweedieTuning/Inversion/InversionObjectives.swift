import TweedieCore

/// θ as one vector: the parameters (one row per class table) concatenated in order.
func flattened(_ p: TuningParameters) -> [Float] { p.values.flatMap(\.data) }

/// `g` split like the parameters.
func unflattened(_ g: [Float], like p: TuningParameters) -> [Tensor] {
    var offset = 0
    return p.values.map { v in
        defer { offset += v.count }
        return Tensor(shape: v.shape, data: Array(g[offset..<(offset + v.count)]))
    }
}

/// The draw of micro-batch `m` of update `step`: each micro-batch gets draws of its own.
func drawIndex(step: Int, microBatch m: Int) -> Int { step &* 1024 &+ m }

/// ZOODiP's objective: a forward-difference estimate of the ε-MSE gradient from n + 1 forward passes that share
/// one draw, projected off the subspace's removed directions when it is on, scaled by 1/√((d_eff + n − 1)/n) as
/// the official code does. The loss reported is L(θ) itself (the official code logs a perturbed loss).
public final class ZerothOrderObjective: TuningObjective {
    public let problem: InversionProblem
    public let estimator: ForwardDifference
    public let directions: GaussianDirections
    /// The subspace gradient; nil when off.
    public let subspace: SubspaceGradient?

    public init(problem: InversionProblem, estimator: ForwardDifference, seed: UInt64, subspace: SubspaceGradient?) {
        self.problem = problem
        self.estimator = estimator
        directions = GaussianDirections(seed: seed, dimension: problem.dimension)
        self.subspace = subspace
    }

    public var metricNames: [String] { ["forward_passes", "effective_dimension"] }

    public func evaluate(_ parameters: TuningParameters, step: Int, microBatch: Int) throws -> TuningEvaluation {
        let theta = flattened(parameters)
        let draw = try problem.draw(step: drawIndex(step: step, microBatch: microBatch))
        let e = try estimator.estimate(at: theta, step: step, firstIndex: microBatch * estimator.directions,
                                       stream: directions) { try problem.loss($0, draw) }
        var g = subspace.map { $0.project(e.gradient) } ?? e.gradient
        let dEff = subspace?.effectiveDimension ?? problem.dimension
        let scale = ForwardDifference.zoodipScale(directions: estimator.directions, effectiveDimension: dEff)
        for j in g.indices { g[j] *= scale }
        return TuningEvaluation(loss: e.loss, gradients: unflattened(g, like: parameters),
                                metrics: ["forward_passes": Double(e.evaluations), "effective_dimension": Double(dEff)])
    }
}

/// The backprop baseline: the exact ε-MSE gradient to the row by reverse mode through the frozen network.
public final class BackpropObjective: TuningObjective {
    public let problem: InversionProblem

    public init(problem: InversionProblem) { self.problem = problem }

    public var metricNames: [String] { ["forward_passes", "effective_dimension"] }

    public func evaluate(_ parameters: TuningParameters, step: Int, microBatch: Int) throws -> TuningEvaluation {
        let draw = try problem.draw(step: drawIndex(step: step, microBatch: microBatch))
        let (loss, g) = try problem.lossAndGradient(flattened(parameters), draw)
        return TuningEvaluation(loss: loss, gradients: unflattened(g, like: parameters),
                                metrics: ["forward_passes": 1, "effective_dimension": Double(problem.dimension)])
    }
}
