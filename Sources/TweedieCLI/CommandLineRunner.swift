import ArgumentParser
import Tweedie
#if canImport(Glibc)
import Glibc
#endif

/// Parses and runs the command, mapping every failure to one line on stderr and the engine's exit codes:
/// 0 ok, 1 runtime failure, 2 bad usage or bad input (swift-argument-parser's own usage code is 64; we use 2).
func runCommandLine(_ root: TweedieCommand.Type) -> Never {
    do {
        // `tweedie --version` (the subcommands are parsed by swift-argument-parser, which offers --version only
        // through the root's configuration).
        if Array(CommandLine.arguments.dropFirst()) == ["--version"] {
            print(EngineVersion.string)
            exit(0)
        }
        var command = try root.parseAsRoot(GuiderFlags.rewrite(Array(CommandLine.arguments.dropFirst())))
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
    @Option(name: [.customShort("t"), .long], parsing: .unconditional,
            help: "Worker threads for GEMM and the engine's loops (default: all cores; more than the cores are capped).")
    var threads: Int?

    func apply() throws {
        if let t = threads {
            guard t >= 1 else { throw TweedieError.badInput("--threads: must be at least 1, got \(t)") }
            // More workers than cores only adds contention (and OpenBLAS's large thread counts can deadlock).
            let cores = ProcessInfoLite.activeProcessorCount
            if t > cores {
                fputs("tweedie: warning: --threads \(t) exceeds the \(cores) available core\(cores == 1 ? "" : "s"); "
                      + "using \(cores)\n", stderr)
            }
            Runtime.threads = min(t, cores)
        }
    }
}
