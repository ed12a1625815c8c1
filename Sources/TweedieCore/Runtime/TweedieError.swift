/// Errors the engine reports to users: each names the file, field or flag at fault.
/// `exitCode` follows the CLI convention: 2 for bad usage or input, 1 for runtime failures.
public struct TweedieError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, in one line, naming the file/field/flag.
    public let message: String
    /// Process exit code the CLI uses for this error.
    public let exitCode: Int32

    /// Bad input or usage (exit code 2).
    public static func badInput(_ message: String) -> TweedieError { TweedieError(message: message, exitCode: 2) }
    /// Failure while running on valid input (exit code 1).
    public static func runtime(_ message: String) -> TweedieError { TweedieError(message: message, exitCode: 1) }

    public var description: String { message }
}
