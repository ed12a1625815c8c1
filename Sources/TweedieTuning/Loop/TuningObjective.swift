import TweedieCore

/// What an objective returns for one micro-batch: the loss the loop minimises, its gradient (or a gradient
/// estimate: zeroth-order methods return one without a backward pass) in parameter order, and figures to log.
public struct TuningEvaluation {
    /// The minimised value (e.g. minus the mean reward).
    public var loss: Double
    /// d loss / d parameter, shaped like the parameters, same order.
    public var gradients: [Tensor]
    /// Extra figures for the log by column name (e.g. "reward"); averaged over the micro-batches of an update.
    public var metrics: [String: Double]

    /// An evaluation from its parts.
    public init(loss: Double, gradients: [Tensor], metrics: [String: Double] = [:]) {
        self.loss = loss
        self.gradients = gradients
        self.metrics = metrics
    }
}

/// A tuning method's objective as the optimisation loop sees it. It must be a function of its arguments alone
/// (randomness keyed by step and micro-batch, e.g. counter-based noise), so that a run resumed from a checkpoint
/// computes exactly what the uninterrupted run would have.
public protocol TuningObjective: AnyObject {
    /// Names of the figures every evaluation reports in `metrics` (the log's extra columns, in this order).
    var metricNames: [String] { get }
    /// Loss and gradient of micro-batch `microBatch` of update `step` (both 0-based) at `parameters`.
    func evaluate(_ parameters: TuningParameters, step: Int, microBatch: Int) throws -> TuningEvaluation
}
