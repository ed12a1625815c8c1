import ArgumentParser
import Tweedie

struct TweedieCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tweedie",
        abstract: "Diffusion and guidance sampling engine.")
}
TweedieCommand.main()
