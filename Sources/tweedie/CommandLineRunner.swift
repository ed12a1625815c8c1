import ArgumentParser
import Tweedie
#if canImport(Glibc)
import Glibc
#endif

/// Parses and runs the command, mapping every failure to one line on stderr and the engine's exit codes:
/// 0 ok, 1 runtime failure, 2 bad usage or bad input (swift-argument-parser's own usage code is 64; we use 2).
func runCommandLine(_ root: TweedieCommand.Type) -> Never {
    do {
        var command = try root.parseAsRoot()
        try command.run()
        exit(0)
    } catch let error as TweedieError {
        fputs("tweedie: error: \(error.message)\n", stderr)
        exit(error.exitCode)
    } catch let error as ExitCode {
        exit(error.rawValue)
    } catch {
        let code = root.exitCode(for: error)
        if code == .success { root.exit(withError: error) }
        let message = root.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
        fputs(message.hasPrefix("Error:") ? "tweedie: \(message)\n" : "tweedie: error: \(message)\n", stderr)
        exit(2)
    }
}

/// Options every compute command shares.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Worker threads for GEMM and the engine's loops (default: all cores).")
    var threads: Int?

    func apply() throws {
        if let t = threads {
            guard t >= 1 else { throw TweedieError.badInput("--threads: must be at least 1, got \(t)") }
            Runtime.threads = t
        }
    }
}
