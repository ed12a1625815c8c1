import ArgumentParser
import Tweedie
#if canImport(Glibc)
import Glibc
#endif

struct TweedieCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tweedie",
        abstract: "Diffusion and guidance sampling engine: diffusers-format U-Net, DiT and VAE on the CPU.",
        subcommands: [ForwardCommand.self, InfoCommand.self, BenchCommand.self, GenerateCommand.self, TrainCommand.self,
                      ClassifyCommand.self, TrainClassifierCommand.self, EvaluateCommand.self, ReconstructCommand.self,
                      QuantizeCommand.self, PruneCommand.self, FinetuneCommand.self, ScoreCommand.self,
                      SoupCommand.self, InvertCommand.self, MergeCommand.self, SDSCommand.self])
}

OpenBLASCoreGuard.reexecIfNeeded()
HeapRetention.apply()
runCommandLine(TweedieCommand.self)
