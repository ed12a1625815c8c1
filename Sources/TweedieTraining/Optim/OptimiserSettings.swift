/// The settings every optimisation run shares (the diffusion trainer's, the classifier trainer's, and the tuning
/// methods'), so one set of command-line flags can override any of their recipes.
public protocol OptimiserSettings {
    /// Samples per optimiser step.
    var batch: Int { get set }
    /// Peak learning rate.
    var learningRate: Float { get set }
    /// Linear warm-up steps.
    var warmupSteps: Int { get set }
    /// Seed of the initial weights, the data order and the noise.
    var seed: UInt64 { get set }
    /// Steps between checkpoints.
    var checkpointEvery: Int { get set }
    /// Steps between progress lines.
    var logEvery: Int { get set }
}

extension TrainingRecipe: OptimiserSettings {}
extension ClassifierRecipe: OptimiserSettings {}
